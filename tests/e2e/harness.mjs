// What the e2e test files share: the keys of the run (made from pieces, so no key-shaped string
// sits in the source), the environment scrub, starting and stopping tapedeck, running a command,
// and reading a cassette. Importing this module removes the caller's provider settings from the
// environment, so import it before anything builds an SDK client.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const TAPEDECK = process.env.TAPEDECK_BIN;
export const skipTapedeck = TAPEDECK ? false : 'TAPEDECK_BIN is not set';

// No real key may reach anything here: drop the caller's provider settings before any SDK or
// child process can read them.
for (const name of Object.keys(process.env)) {
  if (/^(ANTHROPIC|OPENAI|CLAUDE|GOOGLE_GEMINI)_/.test(name)) delete process.env[name];
}

// Key-shaped test keys, made per run from pieces so that no key-shaped string sits in the source.
export const ANTHROPIC_KEY =
  `${['sk', 'ant', 'api03'].join('-')}-E2e${randomBytes(16).toString('hex')}`;
export const OPENAI_KEY = `${['sk', 'proj'].join('-')}-E2e${randomBytes(16).toString('hex')}`;
// What a CI job without keys would use against a replay.
export const PLACEHOLDER = {
  anthropicKey: 'placeholder-anthropic-key',
  openaiKey: 'placeholder-openai-key',
};

export const START_TIMEOUT_MS = 10_000;
export const STOP_TIMEOUT_MS = 15_000;  // tapedeck's default grace period is 10 s
export const TEST_TIMEOUT_MS = 45_000;

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// The environment for tapedeck and its children: no provider keys (removed above) and no
// TAPEDECK_* settings from the caller, which tapedeck would read as flags.
export function childEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TAPEDECK_')) env[k] = v;
  return env;
}

const running = new Set();  // tapedeck processes still alive, killed if a test fails midway

// SIGKILL for every tapedeck still running: for an after() hook, when a test failed midway.
export function killRunning() {
  for (const child of running) child.kill('SIGKILL');
}

// Starts `tapedeck ARGS...` and resolves once it prints its listening line, with
// { url, stop(), stderr() }. stop() sends SIGTERM and resolves to { code, signal } at exit.
export async function startTapedeck(args) {
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

// Runs `file ARGS...` to its end: { code (0, the exit status or the signal), stdout (bytes),
// stderr (text) }.
export function run(file, args, { env = childEnv(), timeoutMs = 30_000 } = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, encoding: 'buffer', maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? err.signal) : 0,
        stdout, stderr: stderr.toString('utf8') }));
  });
}

// The cassette's JSON text: decompressed when it is a zstd frame (`zstd -dc` as a user would).
export async function cassetteText(path) {
  const raw = readFileSync(path);
  if (raw.length >= 4 && raw.readUInt32LE(0) === 0xfd2fb528) {
    const { code, stdout, stderr } = await run('zstd', ['-dc', path]);
    assert.equal(code, 0, `zstd -dc ${path}: ${stderr}`);
    return stdout.toString('utf8');
  }
  return raw.toString('utf8');
}

// The cassette's lines, parsed: { header, interactions }.
export async function cassetteLines(path) {
  const lines = (await cassetteText(path)).split('\n').filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
  return { header: lines[0], interactions: lines.slice(1) };
}

// The cassette exists, holds requests, and neither it (raw or decompressed) nor the recorder's
// log holds either key of the run.
export async function assertCassetteClean(path, recorderStderr) {
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

export function upstreamOptions() {
  return { anthropicKey: ANTHROPIC_KEY, openaiKey: OPENAI_KEY };
}
