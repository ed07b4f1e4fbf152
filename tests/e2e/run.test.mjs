// The SDK end-to-end suite (`node --test`). First every scenario runs straight against the fake
// upstream (proving the scenarios and their sanity checks). Then each runs through
// `tapedeck record` (transcript A), the upstream is stopped, and again through
// `tapedeck replay --timing instant` plus the scenario's own flags (transcript B); A must equal B.
// TAPEDECK_BIN names the binary.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { SCENARIOS } from './scenarios.mjs';
import { startUpstream } from './upstream.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const TAPEDECK = process.env.TAPEDECK_BIN;

// No real key may reach anything here: drop the caller's provider settings before any SDK or
// child process can read them.
for (const name of Object.keys(process.env)) {
  if (/^(ANTHROPIC|OPENAI|CLAUDE)_/.test(name)) delete process.env[name];
}

// Key-shaped test keys, made per run from pieces so that no key-shaped string sits in the source.
const ANTHROPIC_KEY = `${['sk', 'ant', 'api03'].join('-')}-E2e${randomBytes(16).toString('hex')}`;
const OPENAI_KEY = `${['sk', 'proj'].join('-')}-E2e${randomBytes(16).toString('hex')}`;
// What a CI job without keys would use against a replay.
const PLACEHOLDER = {
  anthropicKey: 'placeholder-anthropic-key',
  openaiKey: 'placeholder-openai-key',
};

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;  // tapedeck's default grace period is 10 s
const TEST_TIMEOUT_MS = 45_000;

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// The environment for tapedeck and its children: no provider keys (removed above) and no
// TAPEDECK_* settings from the caller, which tapedeck would read as flags.
function childEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TAPEDECK_')) env[k] = v;
  return env;
}

const running = new Set();  // tapedeck processes still alive, killed if a test fails midway

// Starts `tapedeck ARGS...` and resolves once it prints its listening line, with
// { url, stop(), stderr() }. stop() sends SIGTERM and resolves to { code, signal } at exit.
async function startTapedeck(args) {
  const child = spawn(TAPEDECK, args, { env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const listening = new Promise((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`tapedeck ${args[0]}: ${err.message}`)));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => {
      stderr += text;
      const m = /tapedeck listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    exited.then(({ code, signal }) => reject(new Error(`tapedeck ${args.join(' ')}: exited ` +
      `(${code ?? signal}) before listening; stderr:\n${stderr}`)));
  });
  let url;
  try {
    url = await withTimeout(listening, START_TIMEOUT_MS, `tapedeck ${args[0]} listening line`);
  } catch (err) {
    child.kill('SIGKILL');
    if (!err.message.includes('stderr:')) err.message += `\nstderr so far:\n${stderr}`;
    throw err;
  }
  return {
    url,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return withTimeout(exited, STOP_TIMEOUT_MS, `tapedeck ${args[0]} exit after SIGTERM`);
    },
  };
}

function run(file, args, { env = childEnv(), timeoutMs = 30_000 } = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, encoding: 'buffer', maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? err.signal) : 0,
        stdout, stderr: stderr.toString('utf8') }));
  });
}

// The cassette's JSON text: decompressed when it is a zstd frame (`zstd -dc` as a user would).
async function cassetteText(path) {
  const raw = readFileSync(path);
  if (raw.length >= 4 && raw.readUInt32LE(0) === 0xfd2fb528) {
    const { code, stdout, stderr } = await run('zstd', ['-dc', path]);
    assert.equal(code, 0, `zstd -dc ${path}: ${stderr}`);
    return stdout.toString('utf8');
  }
  return raw.toString('utf8');
}

async function assertCassetteClean(path, recorderStderr) {
  assert.ok(existsSync(path), `cassette ${path} was written`);
  const raw = readFileSync(path);
  const text = await cassetteText(path);
  assert.ok(text.includes('/v1/'), 'the cassette holds the recorded requests');
  for (const key of [ANTHROPIC_KEY, OPENAI_KEY]) {
    assert.ok(!raw.includes(key), 'no key in the cassette file');
    assert.ok(!text.includes(key), 'no key in the decompressed cassette');
    assert.ok(!recorderStderr.includes(key), 'no key in tapedeck\'s log');
  }
}

function upstreamOptions() {
  return { anthropicKey: ANTHROPIC_KEY, openaiKey: OPENAI_KEY };
}

let workDir;
before(() => { workDir = mkdtempSync(join(tmpdir(), 'tapedeck-e2e-')); });
after(() => {
  for (const child of running) child.kill('SIGKILL');
  if (workDir && !process.env.E2E_KEEP_CASSETTES) rmSync(workDir, { recursive: true, force: true });
});

describe('the scenarios against the fake upstream, no tapedeck', () => {
  for (const scenario of Object.values(SCENARIOS)) {
    test(scenario.name, { timeout: TEST_TIMEOUT_MS }, async () => {
      const upstream = await startUpstream(upstreamOptions());
      try {
        const ctx = { phase: 'direct', baseURL: upstream.url, ...upstreamOptions() };
        scenario.verify(await scenario.run(ctx), upstream);
      } finally {
        await upstream.close();
      }
    });
  }

  test('the upstream refuses a wrong key', { timeout: TEST_TIMEOUT_MS }, async () => {
    const upstream = await startUpstream(upstreamOptions());
    try {
      const ctx = { phase: 'direct', baseURL: upstream.url, ...PLACEHOLDER };
      await assert.rejects(SCENARIOS.messagesCreate.run(ctx), { name: 'AuthenticationError' });
      await assert.rejects(SCENARIOS.openaiChat.run(ctx), { status: 401 });
    } finally {
      await upstream.close();
    }
  });
});

const skipTapedeck = TAPEDECK ? false : 'TAPEDECK_BIN is not set';

// Records `scenario` through tapedeck into `cassette`, checks the transcript against the
// upstream's script and the cassette for keys, and returns transcript A. The upstream is
// stopped before this returns, so what follows provably cannot reach it.
async function recordScenario(scenario, cassette) {
  const upstream = await startUpstream(upstreamOptions());
  let recorded;
  let recorder;
  try {
    recorder = await startTapedeck(['record', '--upstream', upstream.url, '--cassette', cassette,
      '--listen', '127.0.0.1:0']);
    try {
      recorded = await scenario.run({ phase: 'record', baseURL: recorder.url,
        ...upstreamOptions() });
    } catch (err) {
      err.message += `\ntapedeck record stderr:\n${recorder.stderr()}`;
      throw err;
    }
    const exit = await recorder.stop();
    assert.deepEqual(exit, { code: 0, signal: null },
      `tapedeck record exits 0 on SIGTERM; stderr:\n${recorder.stderr()}`);
  } finally {
    if (recorder) await recorder.stop().catch(() => {});
    await upstream.close();
  }
  scenario.verify(recorded, upstream);
  await assertCassetteClean(cassette, recorder.stderr());
  return recorded;
}

describe('the SDKs through tapedeck record, then tapedeck replay', { skip: skipTapedeck }, () => {
  for (const [key, scenario] of Object.entries(SCENARIOS)) {
    if (key === 'execCombo') continue;  // replayed by `tapedeck exec` below
    test(scenario.name, { timeout: TEST_TIMEOUT_MS }, async () => {
      const cassette = join(workDir, `${key}.jsonl.zst`);
      const recorded = await recordScenario(scenario, cassette);

      const player = await startTapedeck(['replay', '--cassette', cassette, '--listen',
        '127.0.0.1:0', '--timing', 'instant', ...(scenario.replayArgs ?? [])]);
      let replayed;
      try {
        const ctx = { phase: 'replay', baseURL: player.url, ...PLACEHOLDER };
        replayed = await (scenario.replayRun ?? scenario.run).call(scenario, ctx);
      } catch (err) {
        await player.stop().catch(() => {});
        err.message += `\ntapedeck replay stderr:\n${player.stderr()}`;
        throw err;
      }
      const exit = await player.stop();
      assert.deepEqual(exit, { code: 0, signal: null },
        `tapedeck replay exits 0 on SIGTERM; stderr:\n${player.stderr()}`);
      if (scenario.compare) {
        scenario.compare(recorded, replayed);
      } else {
        assert.deepStrictEqual(replayed, recorded);
      }
    });
  }

  test(SCENARIOS.execCombo.name, { timeout: TEST_TIMEOUT_MS }, async () => {
    const cassette = join(workDir, 'execCombo.jsonl.zst');
    const recorded = await recordScenario(SCENARIOS.execCombo, cassette);
    const res = await run(TAPEDECK, ['exec', '--mode', 'replay', '--cassette', cassette, '--',
      process.execPath, join(HERE, 'exec-client.mjs'), 'execCombo']);
    assert.equal(res.code, 0, `tapedeck exec: stderr:\n${res.stderr}`);
    const { transcript, env } = JSON.parse(res.stdout.toString('utf8'));
    assert.deepStrictEqual(transcript, recorded);
    assert.match(env.ANTHROPIC_BASE_URL, /^http:\/\/127\.0\.0\.1:\d+\/?$/);
    assert.match(env.OPENAI_BASE_URL, /^http:\/\/127\.0\.0\.1:\d+\/v1\/?$/);
    assert.ok(env.ANTHROPIC_API_KEY && env.ANTHROPIC_API_KEY !== ANTHROPIC_KEY);
    assert.ok(env.OPENAI_API_KEY && env.OPENAI_API_KEY !== OPENAI_KEY);
  });

  test('tapedeck exec returns the command\'s exit status', { timeout: TEST_TIMEOUT_MS },
    async () => {
      const cassette = join(workDir, 'execCombo.jsonl.zst');
      if (!existsSync(cassette)) await recordScenario(SCENARIOS.execCombo, cassette);
      const res = await run(TAPEDECK, ['exec', '--mode', 'replay', '--cassette', cassette, '--',
        process.execPath, '-e', 'process.exit(7)']);
      assert.equal(res.code, 7, `tapedeck exec: stderr:\n${res.stderr}`);
    });
});
