// The sample suite (tests/sample) under real runners, each a child process as a user runs it:
// vitest (`vitest run`, tapedeck/vitest as globalSetup) and `node --test` (startTapedeck in the
// file). Per runner: record with the fake upstream of tests/e2e up, replay with it stopped and
// compare every test's transcript, then edit one test's prompt and see that test fail alone with
// tapedeck's miss message; and a bad binary fails the run with a clear error. TAPEDECK_BIN names
// the binary.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startUpstream } from '../../../tests/e2e/upstream.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SAMPLE = join(HERE, 'sample');
const VITEST = join(HERE, '..', 'node_modules', 'vitest', 'vitest.mjs');
const TAPEDECK = process.env.TAPEDECK_BIN;
const skip = TAPEDECK ? false : 'TAPEDECK_BIN is not set';
const TITLES = ['anthropic message', 'anthropic stream', 'anthropic with fallback', 'openai chat',
  'openai stream'];
const SEGMENTS = ['anthropic_message', 'anthropic_stream', 'anthropic_with_fallback',
  'openai_chat', 'openai_stream'];
// The test whose prompt is edited: it catches the SDK's error and answers from a fallback, so
// only its cassette check can fail it.
const EDITED = 'anthropic with fallback';
const RUN_TIMEOUT_MS = 40_000;

// Key-shaped keys, made per run from pieces so that no key-shaped string sits in the source.
const ANTHROPIC_KEY = `${['sk', 'ant', 'api03'].join('-')}-Nh${randomBytes(16).toString('hex')}`;
const OPENAI_KEY = `${['sk', 'proj'].join('-')}-Nh${randomBytes(16).toString('hex')}`;

let workDir;
before(() => { workDir = mkdtempSync(join(tmpdir(), 'tapedeck-node-runners-')); });
after(() => {
  if (workDir && !process.env.E2E_KEEP_CASSETTES) rmSync(workDir, { recursive: true, force: true });
});

// The runner's environment: no provider settings or TAPEDECK_* of the caller, no colours;
// then `extra`.
function runnerEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    // NODE_TEST_CONTEXT would make the child `node --test` think it runs inside this one.
    const drop = /^(ANTHROPIC|OPENAI|CLAUDE|GOOGLE_GEMINI|TAPEDECK)_/.test(k) ||
      k === 'NODE_TEST_CONTEXT';
    if (!drop) env[k] = v;
  }
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', SAMPLE_CACHE_DIR: join(workDir, 'vite-cache'),
    ...extra };
}

// Runs `node ARGS` in the sample folder: { code, output } (stdout and stderr together).
function runNode(args, env) {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: SAMPLE, env, timeout: RUN_TIMEOUT_MS,
      maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? err.signal) : 0, output: `${stdout}\n${stderr}` });
    });
  });
}

// Each runner: how to run it, and how its output says which tests passed and failed.
const RUNNERS = {
  vitest: {
    folder: 'vitest-suite.sample',
    run: (env, extraArgs = []) => runNode([VITEST, 'run', '--config', 'vitest.config.js',
      ...extraArgs], env),
    // { passed: [titles], failed: [titles], messages: { title: text } } from the JSON report.
    async outcome(env) {
      const report = join(workDir, `vitest-${randomBytes(4).toString('hex')}.json`);
      const res = await this.run(env, ['--reporter=default', '--reporter=json',
        `--outputFile.json=${report}`]);
      const parsed = JSON.parse(readFileSync(report, 'utf8'));
      const results = parsed.testResults.flatMap((f) => f.assertionResults);
      return {
        ...res,
        passed: results.filter((r) => r.status === 'passed').map((r) => r.title).sort(),
        failed: results.filter((r) => r.status === 'failed').map((r) => r.title).sort(),
        messages: Object.fromEntries(results.map((r) => [r.title, r.failureMessages.join('\n')])),
      };
    },
  },
  'node:test': {
    folder: 'node-suite',
    run: (env) => runNode(['--test', '--test-reporter=tap', 'node-suite.sample.js'], env),
    // The same, from the TAP lines `ok N - title` / `not ok N - title` (the failure's YAML
    // block, up to the next test line, is its message).
    async outcome(env) {
      const res = await this.run(env);
      const passed = [];
      const failed = [];
      const messages = {};
      let current;
      for (const line of res.output.split('\n')) {
        const m = /^(not ok|ok) \d+ - (.*)$/.exec(line);
        if (m) {
          current = m[2];
          (m[1] === 'ok' ? passed : failed).push(current);
          messages[current] = '';
        } else if (current !== undefined) {
          messages[current] += `${line}\n`;
        }
      }
      return { ...res, passed: passed.sort(), failed: failed.sort(), messages };
    },
  },
};

// The transcripts the sample tests kept in `out`, by cassette name.
function transcripts(out) {
  const all = {};
  for (const file of readdirSync(out)) {
    const { cassette, transcript } = JSON.parse(readFileSync(join(out, file), 'utf8'));
    all[cassette] = transcript;
  }
  return all;
}

// Every file under `dir`, relative to it, sorted.
function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

for (const [name, runner] of Object.entries(RUNNERS)) {
  describe(`${name}: the sample suite, recorded and replayed`, { skip }, () => {
    let cassettes;  // the cassette folder of this runner's recording
    let recorded;   // the transcripts of the recording, by cassette name
    const names = SEGMENTS.map((s) => `${runner.folder}/${s}`);

    test('records a cassette per test with the upstream up', { timeout: RUN_TIMEOUT_MS },
      async () => {
        cassettes = join(workDir, `${name.replace(':', '-')}-cassettes`);
        const out = join(workDir, `${name.replace(':', '-')}-record`);
        mkdirSync(out);
        const upstream = await startUpstream({ anthropicKey: ANTHROPIC_KEY,
          openaiKey: OPENAI_KEY });
        let res;
        try {
          res = await runner.run(runnerEnv({
            TAPEDECK_BIN: TAPEDECK,
            TAPEDECK_MODE: 'record',
            TAPEDECK_CASSETTE_DIR: cassettes,
            TAPEDECK_UPSTREAM: JSON.stringify([`anthropic=${upstream.url}`,
              `openai=${upstream.url}`]),
            ANTHROPIC_API_KEY: ANTHROPIC_KEY,
            OPENAI_API_KEY: OPENAI_KEY,
            SAMPLE_OUT: out,
          }));
        } finally {
          await upstream.close();
        }
        assert.equal(res.code, 0, `${name} record run failed:\n${res.output}`);
        assert.deepEqual(filesUnder(cassettes), names.map((n) => `${n}.jsonl.zst`),
          'one cassette per test, named from the test file and title');
        assert.deepEqual(upstream.received.map((r) => `${r.method} ${r.path}`).sort(), [
          'POST /v1/chat/completions', 'POST /v1/chat/completions',
          'POST /v1/messages', 'POST /v1/messages', 'POST /v1/messages',
        ], 'each test sent its one request to the upstream');
        for (const file of filesUnder(cassettes)) {
          const raw = readFileSync(join(cassettes, file));
          assert.ok(!raw.includes(ANTHROPIC_KEY) && !raw.includes(OPENAI_KEY),
            `no key in ${file}`);
        }
        recorded = transcripts(out);
        assert.deepEqual(Object.keys(recorded).sort(), names, 'every test kept its transcript');
      });

    test('replays them with the upstream stopped: the same replies', { timeout: RUN_TIMEOUT_MS },
      async () => {
        assert.ok(recorded, 'needs the recording of the test above');
        const out = join(workDir, `${name.replace(':', '-')}-replay`);
        mkdirSync(out);
        const res = await runner.run(runnerEnv({
          TAPEDECK_BIN: TAPEDECK,
          // No TAPEDECK_MODE: replay is the default. No keys: useCassette gives placeholders.
          TAPEDECK_CASSETTE_DIR: cassettes,
          SAMPLE_OUT: out,
        }));
        assert.equal(res.code, 0, `${name} replay run failed:\n${res.output}`);
        assert.deepStrictEqual(transcripts(out), recorded);
      });

    test('an edited prompt fails that test alone, with the miss message',
      { timeout: RUN_TIMEOUT_MS }, async () => {
        assert.ok(recorded, 'needs the recording of the test above');
        const res = await runner.outcome(runnerEnv({
          TAPEDECK_BIN: TAPEDECK,
          TAPEDECK_CASSETTE_DIR: cassettes,
          SAMPLE_CHANGE: EDITED,
        }));
        assert.notEqual(res.code, 0, `the run must fail:\n${res.output}`);
        assert.deepEqual(res.failed, [EDITED], `only the edited test fails:\n${res.output}`);
        assert.deepEqual(res.passed, TITLES.filter((t) => t !== EDITED).sort());
        const message = res.messages[EDITED];
        const cassette = `${runner.folder}/anthropic_with_fallback`;
        assert.match(message, new RegExp(`tapedeck: cassette ${cassette}: replay: 0 hits, 1 miss`),
          `the failure names the cassette and its problem:\n${message}`);
        assert.match(message, /no recorded interaction matches POST \/anthropic\/v1\/messages/,
          `the failure carries the miss message:\n${message}`);
        assert.ok(message.includes('Which tape is best for music? (edited)'),
          `the miss message shows the edited prompt:\n${message}`);
        assert.ok(res.output.includes('no recorded interaction matches'),
          'the miss message is in the runner\'s output');
      });

    test('a tapedeck binary that does not exist fails the run with a clear error',
      { timeout: RUN_TIMEOUT_MS }, async () => {
        const bin = join(workDir, 'no-such-dir', 'tapedeck');
        const res = await runner.run(runnerEnv({
          TAPEDECK_BIN: bin,
          TAPEDECK_CASSETTE_DIR: cassettes ?? workDir,
        }));
        assert.notEqual(res.code, 0, `the run must fail:\n${res.output}`);
        assert.ok(res.output.includes(`tapedeck replay: cannot start ${bin}`),
          `the output names the binary:\n${res.output}`);
        assert.ok(res.output.includes('TAPEDECK_BIN'),
          `the output says how to name another:\n${res.output}`);
      });
  });
}
