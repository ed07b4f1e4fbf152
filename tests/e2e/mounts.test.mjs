// Two providers behind one tapedeck (`node --test`): `--upstream anthropic=URL1 --upstream
// openai=URL2` mounts each fake upstream at its own path prefix. One program (exec-client.mjs
// twoProviders) drives both official SDKs, configured by `tapedeck exec` from the environment
// alone; each upstream must see only its own provider's requests and key, and the cassette the
// paths as the client sent them. The replay through `tapedeck exec --cassette` then runs with
// both upstreams stopped and must give the same transcript. Last, a request under no mount gets
// a 404 in its provider's error shape and reaches neither upstream. TAPEDECK_BIN names the binary.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import {
  ANTHROPIC_KEY, HERE, OPENAI_KEY, TAPEDECK, TEST_TIMEOUT_MS, assertCassetteClean, cassetteLines,
  childEnv, killRunning, run, skipTapedeck, startTapedeck,
} from './harness.mjs';
import { EXEC_SCENARIOS, MODEL, OPENAI_MODEL } from './scenarios.mjs';
import { startUpstream } from './upstream.mjs';

const CLIENT = join(HERE, 'exec-client.mjs');
const twoProviders = EXEC_SCENARIOS.twoProviders;

let workDir;
before(() => { workDir = mkdtempSync(join(tmpdir(), 'tapedeck-e2e-mounts-')); });
after(() => {
  killRunning();
  if (workDir && !process.env.E2E_KEEP_CASSETTES) rmSync(workDir, { recursive: true, force: true });
});

// Two fake upstreams, each playing one provider and accepting only that provider's key.
async function startProviders() {
  const anthropic = await startUpstream({ provider: 'anthropic', anthropicKey: ANTHROPIC_KEY });
  const openai = await startUpstream({ provider: 'openai', openaiKey: OPENAI_KEY });
  return {
    anthropic,
    openai,
    mountArgs: ['--upstream', `anthropic=${anthropic.url}`, '--upstream', `openai=${openai.url}`],
    close: () => Promise.all([anthropic.close(), openai.close()]),
  };
}

// What an upstream was sent, a line each: method, path and the key its credential header
// carried (`x-api-key`, or `Authorization: Bearer`, which the pinned SDKs both send).
function requestLog(upstream) {
  return upstream.received.map((r) => ({
    request: `${r.method} ${r.path}${r.query}`,
    key: r.headers['x-api-key'] ?? r.headers.authorization?.replace(/^Bearer /, '') ?? null,
  }));
}

// No header of any request `upstream` received carries `key`, in any form.
function assertNeverSent(upstream, key, what) {
  for (const r of upstream.received) {
    for (const [name, value] of Object.entries(r.headers)) {
      assert.ok(!String(value).includes(key), `${what} reached this upstream in ${name}`);
    }
    assert.ok(!r.rawBody.includes(key) && !r.path.includes(key), `${what} in a request`);
  }
}

// The exec child's base URLs: the mounts on tapedeck's own address, and no Gemini one.
function assertMountedBaseUrls(env) {
  assert.match(env.ANTHROPIC_BASE_URL, /^http:\/\/127\.0\.0\.1:\d+\/anthropic$/);
  assert.match(env.OPENAI_BASE_URL, /^http:\/\/127\.0\.0\.1:\d+\/openai\/v1$/);
  assert.equal(new URL(env.ANTHROPIC_BASE_URL).host, new URL(env.OPENAI_BASE_URL).host,
    'both base URLs point at the same tapedeck');
  assert.equal(env.GOOGLE_GEMINI_BASE_URL, null, 'no gemini mount, so no GOOGLE_GEMINI_BASE_URL');
}

// Parses the exec child's { transcript, env } line, or fails with tapedeck's stderr.
function childOutput(res, what) {
  assert.equal(res.code, 0, `${what}: exit status ${res.code}; stderr:\n${res.stderr}`);
  return JSON.parse(res.stdout.toString('utf8'));
}

describe('two providers mounted side by side', { skip: skipTapedeck }, () => {
  let recorded;  // { cassette, transcript }, from the record test for the replay tests

  test('tapedeck exec --mode record: each upstream gets only its own requests and key',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const cassette = join(workDir, 'two-providers.jsonl.zst');
      const providers = await startProviders();
      let res;
      try {
        const env = { ...childEnv(), ANTHROPIC_API_KEY: ANTHROPIC_KEY, OPENAI_API_KEY: OPENAI_KEY };
        res = await run(TAPEDECK, ['exec', '--mode', 'record', '--cassette', cassette,
          ...providers.mountArgs, '--', process.execPath, CLIENT, 'twoProviders'], { env });
      } finally {
        await providers.close();
      }
      const { transcript, env } = childOutput(res, 'tapedeck exec --mode record');
      assertMountedBaseUrls(env);
      twoProviders.verify(transcript, providers);

      const { anthropic, openai } = providers;
      assert.deepEqual(requestLog(anthropic), [
        { request: 'POST /v1/messages', key: ANTHROPIC_KEY },
        { request: 'POST /v1/messages', key: ANTHROPIC_KEY },
      ], 'the Anthropic upstream saw the two Messages requests, unprefixed, with its key');
      assert.deepEqual(requestLog(openai), [
        { request: 'POST /v1/chat/completions', key: OPENAI_KEY },
        { request: 'POST /v1/chat/completions', key: OPENAI_KEY },
      ], 'the OpenAI upstream saw the two chat requests, unprefixed, with its key');
      assertNeverSent(anthropic, OPENAI_KEY, 'the OpenAI key');
      assertNeverSent(openai, ANTHROPIC_KEY, 'the Anthropic key');

      await assertCassetteClean(cassette, res.stderr);
      const { interactions } = await cassetteLines(cassette);
      assert.deepEqual(interactions.map((i) => `${i.request.method} ${i.request.path}`).sort(), [
        'POST /anthropic/v1/messages', 'POST /anthropic/v1/messages',
        'POST /openai/v1/chat/completions', 'POST /openai/v1/chat/completions',
      ], 'the cassette keeps each path as the client sent it, mount prefix included');
      recorded = { cassette, transcript };
    });

  test('tapedeck exec --cassette replays it with both upstreams stopped',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      assert.ok(recorded, 'needs the recording of the test above');
      // exec finds the mounts for the child's base URLs in the header (cassette format 2).
      const { header } = await cassetteLines(recorded.cassette);
      assert.deepEqual(header.mounts, ['anthropic', 'openai'], 'the header lists the mounts');
      const res = await run(TAPEDECK, ['exec', '--cassette', recorded.cassette, '--',
        process.execPath, CLIENT, 'twoProviders']);
      const { transcript, env } = childOutput(res, 'tapedeck exec (replay)');
      assertMountedBaseUrls(env);
      assert.deepStrictEqual(transcript, recorded.transcript);
    });

  test('tapedeck replay serves the same cassette at the mounted base URLs',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      assert.ok(recorded, 'needs the recording of the test above');
      const player = await startTapedeck(['replay', '--cassette', recorded.cassette,
        '--listen', '127.0.0.1:0', '--timing', 'instant']);
      let res;
      try {
        res = await run(process.execPath, [CLIENT, 'twoProviders'], { env: { ...childEnv(),
          ANTHROPIC_BASE_URL: `${player.url}/anthropic`,
          OPENAI_BASE_URL: `${player.url}/openai/v1`,
          ANTHROPIC_API_KEY: 'placeholder-anthropic-key',
          OPENAI_API_KEY: 'placeholder-openai-key' } });
      } finally {
        const exit = await player.stop();
        assert.deepEqual(exit, { code: 0, signal: null },
          `tapedeck replay exits 0 on SIGTERM; stderr:\n${player.stderr()}`);
      }
      const { transcript } = childOutput(res, 'exec-client.mjs against tapedeck replay');
      assert.deepStrictEqual(transcript, recorded.transcript);
    });

  test('a request under no mount gets a 404 in its provider\'s shape and is not forwarded',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const cassette = join(workDir, 'unmounted.jsonl.zst');
      const providers = await startProviders();
      let recorder;
      const seen = {};
      try {
        recorder = await startTapedeck(['record', '--cassette', cassette,
          '--listen', '127.0.0.1:0', ...providers.mountArgs]);
        // The SDKs pointed at tapedeck itself, as if the mount had been left out of the base URL.
        const counter = { attempts: 0 };
        const fetchCounting = (url, init) => {
          counter.attempts++;
          return fetch(url, init);
        };
        const claude = new Anthropic({ baseURL: recorder.url, apiKey: ANTHROPIC_KEY,
          maxRetries: 2, fetch: fetchCounting });
        const gpt = new OpenAI({ baseURL: `${recorder.url}/v1`, apiKey: OPENAI_KEY,
          maxRetries: 2, fetch: fetchCounting });
        await assert.rejects(claude.messages.create({ model: MODEL, max_tokens: 16,
          messages: [{ role: 'user', content: 'Where is my mount?' }] }), (err) => {
          seen.anthropic = err;
          return true;
        });
        seen.anthropicAttempts = counter.attempts;
        await assert.rejects(gpt.chat.completions.create({ model: OPENAI_MODEL,
          messages: [{ role: 'user', content: 'Where is my mount?' }] }), (err) => {
          seen.openai = err;
          return true;
        });
        seen.openaiAttempts = counter.attempts - seen.anthropicAttempts;
        const exit = await recorder.stop();
        assert.deepEqual(exit, { code: 0, signal: null },
          `tapedeck record exits 0 on SIGTERM; stderr:\n${recorder.stderr()}`);
      } finally {
        if (recorder) await recorder.stop().catch(() => {});
        await providers.close();
      }

      const claudeErr = seen.anthropic;
      assert.ok(claudeErr instanceof Anthropic.NotFoundError, `got ${claudeErr}`);
      assert.equal(claudeErr.status, 404);
      assert.equal(claudeErr.error?.type, 'error', 'an Anthropic-shaped error body');
      assert.equal(claudeErr.error?.error?.type, 'not_found_error');
      assert.match(claudeErr.error?.error?.message, /\/anthropic .*\/openai /);
      assert.equal(claudeErr.headers.get('x-tapedeck-error'), 'no-mount');
      assert.equal(seen.anthropicAttempts, 1, 'x-should-retry: false, so no retry');

      const gptErr = seen.openai;
      assert.ok(gptErr instanceof OpenAI.NotFoundError, `got ${gptErr}`);
      assert.equal(gptErr.status, 404);
      assert.equal(gptErr.type, 'invalid_request_error', 'an OpenAI-shaped error body');
      assert.match(gptErr.message, /\/anthropic .*\/openai /);
      assert.equal(gptErr.headers.get('x-tapedeck-error'), 'no-mount');
      assert.equal(seen.openaiAttempts, 1, 'x-should-retry: false, so no retry');

      assert.deepEqual(requestLog(providers.anthropic), [], 'nothing reached the Anthropic API');
      assert.deepEqual(requestLog(providers.openai), [], 'nothing reached the OpenAI API');
      for (const key of [ANTHROPIC_KEY, OPENAI_KEY]) {
        assert.ok(!recorder.stderr().includes(key), 'no key in tapedeck\'s log');
      }
    });
});
