// The package's API on its own (`node --test`): cassette names and URLs, useCassette's variables,
// starting and stopping tapedeck (and each way that fails), a cassette's verdict, and the vitest
// and jest global setups. Runs tapedeck (TAPEDECK_BIN) against the fake upstream of tests/e2e.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import {
  TapedeckError, URL_VARIABLE, cassetteName, cassetteStats, cassetteUrl, checkCassette,
  setupTapedeck, startTapedeck, tapedeckUrl, testCassetteName, useCassette, withCassette,
} from 'tapedeck';
import jestGlobalSetup from 'tapedeck/jest/global-setup';
import jestGlobalTeardown from 'tapedeck/jest/global-teardown';
import * as vitestGlobalSetup from 'tapedeck/vitest';

import { startUpstream } from '../../../tests/e2e/upstream.mjs';

const TAPEDECK = process.env.TAPEDECK_BIN;
const skip = TAPEDECK ? false : 'TAPEDECK_BIN is not set';
const TIMEOUT_MS = 30_000;
const ANTHROPIC_KEY = `${['sk', 'ant', 'api03'].join('-')}-Nh${randomBytes(16).toString('hex')}`;
const OPENAI_KEY = `${['sk', 'proj'].join('-')}-Nh${randomBytes(16).toString('hex')}`;

// Nothing of the caller's may steer these tests: the helper reads these itself.
for (const name of Object.keys(process.env)) {
  if (/^(ANTHROPIC|OPENAI|CLAUDE|GOOGLE_GEMINI)_/.test(name)) delete process.env[name];
  if (/^TAPEDECK_/.test(name) && name !== 'TAPEDECK_BIN') delete process.env[name];
}

let workDir;
const started = [];  // servers to stop if a test fails midway
before(() => { workDir = mkdtempSync(join(tmpdir(), 'tapedeck-node-api-')); });
after(async () => {
  await Promise.allSettled(started.map((s) => s.stop()));
  if (workDir && !process.env.E2E_KEEP_CASSETTES) rmSync(workDir, { recursive: true, force: true });
});

// A fresh folder under the work folder.
function folder() {
  return mkdtempSync(join(workDir, 'd-'));
}

async function start(options) {
  const server = await startTapedeck({ bin: TAPEDECK, ...options });
  started.push(server);
  return server;
}

// Runs fn with process.env[name] = value (deleted for undefined), then puts it back.
async function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (values) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(vars);
  try {
    return await fn();
  } finally {
    set(saved);
  }
}

// One Messages request through `base` (an Anthropic base URL): { status, body }.
async function ask(base, text) {
  const res = await fetch(`${base}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ANTHROPIC_KEY,
      'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-e2e-sonnet-1', max_tokens: 32,
      messages: [{ role: 'user', content: text }] }),
  });
  return { status: res.status, body: await res.json() };
}

// Resolves once `pid` is gone; fails after 5 s.
async function waitGone(pid) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    assert.ok(Date.now() < deadline, `process ${pid} still runs`);
    await delay(20);
  }
}

describe('cassette names', () => {
  test('cassetteName turns any text into segments tapedeck accepts', () => {
    assert.equal(cassetteName('chat', 'says hello!'), 'chat/says_hello');
    assert.equal(cassetteName('GET /v1/models (paged)'), 'GET_v1_models_paged');
    assert.equal(cassetteName('auth', ['login', 'ok']), 'auth/login/ok');
    assert.equal(cassetteName('..', '.', '', '  '), '_/_/_');
    assert.equal(cassetteName('größe', 'x.y-z_1'), 'gr_e/x.y-z_1');
    assert.throws(() => cassetteName(), /needs a part/);
  });

  test('a long name is cut to 200 bytes and keeps apart names that share the cut', () => {
    const a = cassetteName('suite', `${'x'.repeat(300)}a`);
    const b = cassetteName('suite', `${'x'.repeat(300)}b`);
    assert.equal(a.length, 200);
    assert.equal(b.length, 200);
    assert.notEqual(a, b);
    assert.match(a, /^suite\/x+-[0-9a-f]{8}$/);
    // A cut that lands on a '/' leaves no empty segment.
    const c = cassetteName('aa', ...Array.from({ length: 100 }, () => 'a'));
    assert.match(c, /^aa(\/a)+-[0-9a-f]{8}$/);
    assert.ok(c.length <= 200);
    assert.doesNotThrow(() => cassetteUrl(c, 'openai', { url: 'http://127.0.0.1:1' }));
  });

  test('testCassetteName names a vitest or jest test by its file and title', () => {
    assert.equal(testCassetteName({ testPath: '/p/tests/chat.test.ts',
      currentTestName: 'chat > says hello' }), 'chat.test/chat_says_hello');
    assert.equal(testCassetteName({ currentTestName: 'plain' }), 'plain');
    assert.throws(() => testCassetteName({}), /inside a test/);
  });

  test('cassetteUrl: a prefix per cassette, "/" as %2F, then the provider\'s mount', () => {
    const url = 'http://127.0.0.1:8765';
    assert.equal(cassetteUrl('auth/test_login', 'anthropic', { url }),
      'http://127.0.0.1:8765/cassette/auth%2Ftest_login/anthropic');
    assert.equal(cassetteUrl('t', 'openai', { url: `${url}/` }),
      'http://127.0.0.1:8765/cassette/t/openai/v1');
    assert.equal(cassetteUrl('t', 'gemini', { url }), 'http://127.0.0.1:8765/cassette/t/gemini');
    assert.equal(cassetteUrl('t', undefined, { url }), 'http://127.0.0.1:8765/cassette/t');
    assert.throws(() => cassetteUrl('t', 'mistral', { url }), /provider "mistral": expected/);
    assert.throws(() => cassetteUrl('t', 'toString', { url }), /provider "toString": expected/);
  });

  test('cassetteUrl refuses what tapedeck would refuse, naming the rule', () => {
    const url = 'http://127.0.0.1:8765';
    for (const [name, why] of [['', /is empty/], ['a b', /only letters/], ['a//b', /empty seg/],
      ['a/../b', /"\.\." segment/], ['/a', /relative/], ['a/', /ends with/],
      ['x'.repeat(201), /longer than 200/], [42, /not a string/]]) {
      assert.throws(() => cassetteUrl(name, 'openai', { url }),
        (err) => err instanceof TapedeckError && why.test(err.message) &&
          err.message.includes('cassetteName()'), `name ${JSON.stringify(name)}`);
    }
  });

  test('without a url, TAPEDECK_URL names tapedeck; with neither, the error says so', async () => {
    await withEnv({ [URL_VARIABLE]: 'http://127.0.0.1:9/' }, () => {
      assert.equal(tapedeckUrl(), 'http://127.0.0.1:9');
      assert.equal(cassetteUrl('t', 'anthropic'), 'http://127.0.0.1:9/cassette/t/anthropic');
    });
    await withEnv({ [URL_VARIABLE]: undefined }, () => {
      assert.throws(() => cassetteUrl('t', 'anthropic'),
        /TAPEDECK_URL is not set: start tapedeck in the global setup/);
    });
  });

  test('useCassette sets the three SDK variables and puts back what was there', async () => {
    await withEnv({ ANTHROPIC_BASE_URL: 'http://mine.invalid', OPENAI_BASE_URL: undefined,
      GOOGLE_GEMINI_BASE_URL: undefined }, () => {
      const h = useCassette('a/b', { url: 'http://127.0.0.1:5' });
      assert.equal(process.env.ANTHROPIC_BASE_URL, 'http://127.0.0.1:5/cassette/a%2Fb/anthropic');
      assert.equal(process.env.OPENAI_BASE_URL, 'http://127.0.0.1:5/cassette/a%2Fb/openai/v1');
      assert.equal(process.env.GOOGLE_GEMINI_BASE_URL, 'http://127.0.0.1:5/cassette/a%2Fb/gemini');
      assert.deepEqual([h.name, h.url, h.openai, h.env.OPENAI_BASE_URL], ['a/b',
        'http://127.0.0.1:5/cassette/a%2Fb', process.env.OPENAI_BASE_URL,
        process.env.OPENAI_BASE_URL]);
      h.restore();
      h.restore();  // twice is harmless
      assert.equal(process.env.ANTHROPIC_BASE_URL, 'http://mine.invalid');
      assert.ok(!('OPENAI_BASE_URL' in process.env));
      assert.ok(!('GOOGLE_GEMINI_BASE_URL' in process.env));
      useCassette('c', { url: 'http://127.0.0.1:5', setEnv: false });
      assert.equal(process.env.ANTHROPIC_BASE_URL, 'http://mine.invalid', 'setEnv: false');
    });
  });

  test('in replay, an unset key variable gets a placeholder until restore()', async () => {
    const url = 'http://127.0.0.1:5';
    const placeholder = 'tapedeck-placeholder-key';
    const keys = { ANTHROPIC_API_KEY: undefined, OPENAI_API_KEY: 'mine', TAPEDECK_MODE: undefined };
    await withEnv(keys, () => {
      const h = useCassette('k', { url });  // no mode anywhere: replay
      assert.equal(process.env.ANTHROPIC_API_KEY, placeholder);
      assert.equal(process.env.OPENAI_API_KEY, 'mine', 'a key that is set stays');
      h.restore();
      assert.ok(!('ANTHROPIC_API_KEY' in process.env));
      for (const options of [{ mode: 'record' }, { mode: 'auto' }, { placeholderKeys: false },
        { setEnv: false }]) {
        useCassette('k', { url, ...options }).restore();
        assert.ok(!('ANTHROPIC_API_KEY' in process.env), JSON.stringify(options));
      }
      process.env.TAPEDECK_MODE = 'record';  // as a global setup publishes it
      const r = useCassette('k', { url });
      assert.ok(!('ANTHROPIC_API_KEY' in process.env), 'TAPEDECK_MODE=record: no placeholder');
      r.restore();
      process.env.ANTHROPIC_API_KEY = '';
      process.env.TAPEDECK_MODE = 'replay';
      const e = useCassette('k', { url });
      assert.equal(process.env.ANTHROPIC_API_KEY, placeholder, 'an empty key counts as unset');
      e.restore();
      assert.equal(process.env.ANTHROPIC_API_KEY, '');
    });
  });
});

describe('starting and stopping tapedeck', { skip }, () => {
  test('a binary that does not exist: the error names it and TAPEDECK_BIN', async () => {
    const bin = join(workDir, 'nowhere', 'tapedeck');
    await assert.rejects(startTapedeck({ bin, cassetteDir: folder() }), (err) => {
      assert.ok(err instanceof TapedeckError);
      assert.equal(err.message, `tapedeck replay: cannot start ${bin}: no such program (give ` +
        'the tapedeck binary as the bin option or in TAPEDECK_BIN, or put tapedeck on PATH)');
      return true;
    });
  });

  test('TAPEDECK_BIN names the binary when the bin option does not', { timeout: TIMEOUT_MS },
    async () => {
      const bad = join(workDir, 'nowhere', 'from-env');
      await withEnv({ TAPEDECK_BIN: bad }, () =>
        assert.rejects(startTapedeck({ cassetteDir: folder() }),
          new RegExp(`cannot start ${bad}: no such program`)));
    });

  test('tapedeck exiting before it listens: the status and its last lines',
    { timeout: TIMEOUT_MS }, async () => {
      await assert.rejects(start({ cassetteDir: folder(), args: ['--bogus-flag'] }), (err) => {
        assert.match(err.message, new RegExp('^tapedeck replay: .* exited with status 2 ' +
          '\\(a bad flag or setting\\) before it listened; its last lines:\n'));
        assert.match(err.message, /unknown flag --bogus-flag/);
        assert.match(err.stderr, /unknown flag --bogus-flag/);
        return true;
      });
      await assert.rejects(start({ cassetteDir: join(workDir, 'missing') }),
        /exited with status 3 \(a cassette could not be read or written\)[^]*no such folder/);
    });

  test('a program that never listens: an error after startTimeoutMs, and it is killed',
    { timeout: TIMEOUT_MS }, async () => {
      const dir = folder();
      const script = join(dir, 'silent.sh');
      const pidFile = join(dir, 'pid');
      writeFileSync(script, `#!/bin/sh\necho "starting up" >&2\necho $$ > '${pidFile}'\n` +
        'exec sleep 30\n');
      chmodSync(script, 0o755);
      await assert.rejects(startTapedeck({ bin: script, cassetteDir: dir, startTimeoutMs: 300 }),
        /printed no listening line within 300 ms; its last lines:\nstarting up/);
      await waitGone(Number(readFileSync(pidFile, 'utf8')));
    });

  test('TAPEDECK_* variables are not passed to tapedeck; TAPEDECK_MODE picks the mode',
    { timeout: TIMEOUT_MS }, async () => {
      // tapedeck would refuse TAPEDECK_CHUNKING=bogus (exit 2) if it saw it.
      const server = await withEnv({ TAPEDECK_CHUNKING: 'bogus', TAPEDECK_MODE: 'auto' }, () =>
        start({ cassetteDir: folder(), args: ['--no-upstream-check'] }));
      assert.equal(server.mode, 'auto');
      const health = await (await fetch(`${server.url}/__tapedeck/health`)).json();
      assert.deepEqual(health, { status: 'ok', mode: 'auto' });
      await server.stop();
      await withEnv({ TAPEDECK_MODE: 'rewind' }, () =>
        assert.rejects(startTapedeck({ bin: TAPEDECK }),
          /TAPEDECK_MODE is "rewind": expected replay, record, auto/));
      await assert.rejects(startTapedeck({ bin: TAPEDECK, mode: 'exec' }),
        /the mode option is "exec"/);
    });

  test('stop() rejects with the status and the last lines when tapedeck exits non-zero',
    { timeout: TIMEOUT_MS }, async () => {
      const server = await start({ cassetteDir: folder(), args: ['--strict'] });
      const res = await ask(server.cassetteUrl('nothing', 'anthropic'), 'hi');
      assert.equal(res.status, 404);
      await assert.rejects(server.stop(), (err) => {
        assert.match(err.message, new RegExp('^tapedeck replay exited with status 1 \\(strict ' +
          'replay found a miss or an unused interaction\\); its last lines:\n'));
        assert.match(err.message, /cassette nothing: not found/);
        return true;
      });
      await assert.rejects(server.stop(), /status 1/, 'a second stop() gives the same answer');
    });
});

describe('a cassette per test, and its verdict', { skip }, () => {
  let upstream;
  let dir;
  before(async () => {
    upstream = await startUpstream({ anthropicKey: ANTHROPIC_KEY, openaiKey: OPENAI_KEY });
    dir = folder();
  });
  after(() => upstream?.close());

  const record = (options) => start({ mode: 'record', cassetteDir: dir,
    upstreams: { anthropic: upstream.url }, ...options });

  test('record writes a cassette per name at stop, and overwrites by default',
    { timeout: TIMEOUT_MS }, async () => {
      for (const text of ['first take', 'second take']) {
        const server = await record();
        const h = server.useCassette('takes/one', { setEnv: false });
        assert.equal((await ask(h.anthropic, text)).status, 200);
        assert.equal((await ask(h.anthropic, `${text}, again`)).status, 200);
        await h.done();
        await server.stop();
        assert.ok(existsSync(join(dir, 'takes', 'one.jsonl.zst')));
      }
      // The cassette holds the second take alone: replay it to see.
      const player = await start({ cassetteDir: dir });
      const h = player.useCassette('takes/one', { setEnv: false });
      const replayed = await ask(h.anthropic, 'second take');
      assert.equal(replayed.status, 200);
      assert.match(replayed.body.content[0].text, /second take/);
      assert.equal((await ask(h.anthropic, 'first take')).status, 404, 'the first take is gone');
      await player.stop();
    });

  test('TAPEDECK_UPSTREAM: NAME=URL values separated by commas mount each upstream',
    { timeout: TIMEOUT_MS }, async () => {
      const server = await withEnv({ TAPEDECK_UPSTREAM: `anthropic=${upstream.url}, ` +
        `openai=${upstream.url}` }, () => start({ mode: 'record', cassetteDir: folder() }));
      const h = server.useCassette('mounts', { setEnv: false });
      assert.equal((await ask(h.anthropic, 'through the first mount')).status, 200);
      const chat = await fetch(`${h.openai}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${OPENAI_KEY}` },
        body: JSON.stringify({ model: 'gpt-e2e-mini',
          messages: [{ role: 'user', content: 'through the second mount' }] }),
      });
      assert.equal(chat.status, 200);
      await server.stop();
    });

  test('record with overwrite: false keeps the cassette and stop() says why it failed',
    { timeout: TIMEOUT_MS }, async () => {
      const server = await record({ overwrite: false });
      const res = await ask(server.cassetteUrl('takes/one', 'anthropic'), 'third take');
      assert.equal(res.status, 500);
      await assert.rejects(server.stop(),
        /exited with status 3 \(a cassette could not be read or written\)/);
    });

  test('done(): an untouched cassette passes, a miss throws the problem and the miss',
    { timeout: TIMEOUT_MS }, async () => {
      const player = await start({ cassetteDir: dir });
      const untouched = player.useCassette('never/used', { setEnv: false });
      assert.equal((await untouched.stats()).state, 'untouched');
      await untouched.done();

      const h = player.useCassette('takes/one', { setEnv: false });
      assert.equal((await ask(h.anthropic, 'second take')).status, 200);
      await h.done();  // a hit, and one interaction left unused: fine by default
      await assert.rejects(checkCassette('takes/one', { url: player.url, unused: 'fail' }),
        /tapedeck: cassette takes\/one: .*never used/);

      assert.equal((await ask(h.anthropic, 'an edited take')).status, 404);
      await assert.rejects(h.done(), (err) => {
        assert.ok(err instanceof TapedeckError);
        const lines = err.message.split('\n');
        assert.match(lines[0], /^tapedeck: cassette takes\/one: replay: 1 hit, 1 miss/);
        assert.match(lines[1], new RegExp('^ {2}tapedeck replay: no recorded interaction ' +
          'matches POST /anthropic/v1/messages.*"an edited take"'));
        assert.equal(err.stats.cassette, 'takes/one');
        return true;
      });

      const missing = player.useCassette('not/recorded', { setEnv: false });
      assert.equal((await ask(missing.anthropic, 'hi')).status, 404);
      await assert.rejects(missing.done(), /cassette not\/recorded: not found/);
      await player.stop();  // without --strict, misses do not change the exit status
    });

  test('withCassette: the result when clean, the problem (caused by the test\'s error) when not',
    { timeout: TIMEOUT_MS }, async () => {
      const player = await start({ cassetteDir: dir });
      const opts = { url: player.url };
      const text = await withCassette('takes/one', async (h) => {
        assert.equal(process.env.ANTHROPIC_BASE_URL, h.anthropic);
        return (await ask(h.anthropic, 'second take')).body.content[0].text;
      }, opts);
      assert.match(text, /second take/);
      assert.ok(!('ANTHROPIC_BASE_URL' in process.env), 'restored');

      const thrown = new Error('the reply was not what I wanted');
      await assert.rejects(withCassette('takes/one', () => Promise.reject(thrown), opts),
        (err) => err === thrown, 'no problem: the test\'s own error');
      await assert.rejects(withCassette('takes/one', async (h) => {
        await ask(h.anthropic, 'off script');
        throw thrown;
      }, opts), (err) => {
        assert.match(err.message, /^tapedeck: cassette takes\/one: .*miss/);
        assert.match(err.message, /"off script"/);
        assert.match(err.message, /\(the test threw too: the reply was not what I wanted\)$/);
        assert.equal(err.cause, thrown);
        return true;
      });
      assert.ok(!('ANTHROPIC_BASE_URL' in process.env), 'restored after a failure too');
      await player.stop();
    });

  test('asking a tapedeck that is gone: an error that says so', { timeout: TIMEOUT_MS },
    async () => {
      const player = await start({ cassetteDir: dir });
      await player.stop();
      await assert.rejects(cassetteStats('t', { url: player.url }),
        new RegExp(`asking ${player.url} about cassette t failed: .*is tapedeck still running`));
    });
});

describe('global setups', { skip }, () => {
  // tapedeck answers at `url`, or refuses the connection once stopped.
  const answers = async (url) => {
    try {
      return (await fetch(`${url}/__tapedeck/health`)).status === 200;
    } catch {
      return false;
    }
  };

  for (const [name, setup, teardown] of [
    ['jest', jestGlobalSetup, jestGlobalTeardown],
    ['vitest', vitestGlobalSetup.setup, vitestGlobalSetup.teardown],
  ]) {
    test(`${name}: setup publishes TAPEDECK_URL; teardown stops tapedeck and takes it back`,
      { timeout: TIMEOUT_MS }, async () => {
        await withEnv({ TAPEDECK_CASSETTE_DIR: folder(), [URL_VARIABLE]: undefined,
          TAPEDECK_MODE: undefined }, async () => {
          await setup();
          const url = process.env[URL_VARIABLE];
          assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
          assert.equal(process.env.TAPEDECK_MODE, 'replay', 'the mode in force, for the workers');
          assert.ok(await answers(url));
          await teardown();
          assert.ok(!(URL_VARIABLE in process.env));
          assert.ok(!('TAPEDECK_MODE' in process.env));
          assert.ok(!(await answers(url)), 'stopped');
          await teardown();  // a second teardown does nothing
        });
      });
  }

  test('with TAPEDECK_URL already set, setup uses that tapedeck and starts none',
    { timeout: TIMEOUT_MS }, async () => {
      await withEnv({ [URL_VARIABLE]: 'http://127.0.0.1:9', TAPEDECK_BIN: '/nowhere' },
        async () => {
          const teardown = await setupTapedeck();
          assert.equal(process.env[URL_VARIABLE], 'http://127.0.0.1:9');
          await teardown();
          assert.equal(process.env[URL_VARIABLE], 'http://127.0.0.1:9');
        });
    });
});
