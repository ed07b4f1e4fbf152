// The SDK end-to-end suite (`node --test`). First every scenario runs straight against the fake
// upstream (proving the scenarios and their sanity checks). Then each runs through
// `tapedeck record` (transcript A), the upstream is stopped, and again through
// `tapedeck replay --timing instant` plus the scenario's own flags (transcript B); A must equal B.
// TAPEDECK_BIN names the binary.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  ANTHROPIC_KEY, HERE, OPENAI_KEY, PLACEHOLDER, TAPEDECK, TEST_TIMEOUT_MS, assertCassetteClean,
  killRunning, run, skipTapedeck, startTapedeck, upstreamOptions,
} from './harness.mjs';
import { SCENARIOS } from './scenarios.mjs';
import { startUpstream } from './upstream.mjs';

let workDir;
before(() => { workDir = mkdtempSync(join(tmpdir(), 'tapedeck-e2e-')); });
after(() => {
  killRunning();
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
