// The official Anthropic SDK through tapedeck's forward-proxy mode (issue #13): the SDK keeps
// its base URL at https://api.anthropic.com:PORT and reaches it through an undici ProxyAgent
// passed as `fetchOptions.dispatcher` (the SDK's documented proxy hook), trusting tapedeck's CA.
// The fake upstream serves HTTPS with the test certificate for the API host names
// (E2E_TEST_CERTS/api.pem), and tapedeck maps the name to it with --resolve. Record, stop
// the upstream, replay: the transcripts must be equal.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ProxyAgent } from 'undici';

import {
  PLACEHOLDER, TEST_TIMEOUT_MS, assertCassetteClean, cassetteLines, killRunning, skipTapedeck,
  startTapedeck, upstreamOptions,
} from './harness.mjs';
import { SCENARIOS } from './scenarios.mjs';
import { startUpstream } from './upstream.mjs';

const CERTS = process.env.E2E_TEST_CERTS;
const HOST = 'api.anthropic.com';
const skip = skipTapedeck ||
  (CERTS && existsSync(join(CERTS ?? '', 'api.pem')) ? false :
    'E2E_TEST_CERTS does not name the test certificates (api.pem)');

// One non-streamed (two messages) and one streamed scenario, run the same way in both phases.
const SCENARIO_KEYS = ['messagesCreate', 'messagesStream'];

let workDir;
before(() => { workDir = mkdtempSync(join(tmpdir(), 'tapedeck-e2e-fp-')); });
after(() => {
  killRunning();
  if (workDir && !process.env.E2E_KEEP_CASSETTES) rmSync(workDir, { recursive: true, force: true });
});

// Runs the scenarios with the SDK's traffic sent through tapedeck at `proxyUrl`; the agent
// trusts tapedeck's CA alone, so nothing but a leaf tapedeck minted can satisfy it. Returns the
// transcripts and, when `upstream` is given, the part of its traffic each scenario caused.
async function runThroughProxy(phase, proxyUrl, caDir, baseURL, keys, upstream) {
  const dispatcher = new ProxyAgent({
    uri: proxyUrl,
    requestTls: { ca: readFileSync(join(caDir, 'tapedeck-ca.pem')) },
  });
  try {
    const transcripts = {};
    const traffic = {};
    for (const key of SCENARIO_KEYS) {
      const from = upstream?.received.length;
      transcripts[key] = await SCENARIOS[key].run({ phase, baseURL, fetchOptions: { dispatcher },
        ...keys });
      if (upstream) {
        traffic[key] = { ...upstream, received: upstream.received.slice(from),
          sent: upstream.sent.filter((s) => s.index >= from) };
      }
    }
    return { transcripts, traffic };
  } finally {
    await dispatcher.close();
  }
}

describe('the Anthropic SDK through tapedeck --forward-proxy', { skip }, () => {
  test('record through an undici ProxyAgent, stop the upstream, replay: same transcript',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const cassette = join(workDir, 'forward-proxy.jsonl.zst');
      const caDir = join(workDir, 'ca');
      const upstream = await startUpstream({ ...upstreamOptions(), provider: 'anthropic',
        tls: { cert: readFileSync(join(CERTS, 'api.pem')), key: readFileSync(join(CERTS, 'api.key')) } });
      const baseURL = `https://${HOST}:${upstream.port}`;
      let recorded;
      let recorder;
      try {
        recorder = await startTapedeck(['record', '--forward-proxy',
          '--resolve', `${HOST}:${upstream.port}:127.0.0.1`, '--upstream-ca', join(CERTS, 'ca.pem'),
          '--ca-dir', caDir, '--cassette', cassette, '--listen', '127.0.0.1:0']);
        try {
          recorded = await runThroughProxy('record', recorder.url, caDir, baseURL,
            upstreamOptions(), upstream);
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
      for (const key of SCENARIO_KEYS) {
        SCENARIOS[key].verify(recorded.transcripts[key], recorded.traffic[key]);
      }
      // The SDK addressed the API host itself, through tapedeck.
      assert.equal(upstream.received.length, 3);
      for (const req of upstream.received) assert.equal(req.headers.host, `${HOST}:${upstream.port}`);
      await assertCassetteClean(cassette, recorder.stderr());
      const { interactions } = await cassetteLines(cassette);
      assert.equal(interactions.length, 3);
      for (const it of interactions) assert.equal(it.request.origin, baseURL);

      const player = await startTapedeck(['replay', '--forward-proxy', '--ca-dir', caDir,
        '--cassette', cassette, '--listen', '127.0.0.1:0', '--timing', 'instant']);
      let replayed;
      try {
        ({ transcripts: replayed } = await runThroughProxy('replay', player.url, caDir, baseURL,
          PLACEHOLDER));
      } catch (err) {
        await player.stop().catch(() => {});
        err.message += `\ntapedeck replay stderr:\n${player.stderr()}`;
        throw err;
      }
      const exit = await player.stop();
      assert.deepEqual(exit, { code: 0, signal: null },
        `tapedeck replay exits 0 on SIGTERM; stderr:\n${player.stderr()}`);
      assert.match(player.stderr(), /3 hits, 0 misses/);
      assert.deepStrictEqual(replayed, recorded.transcripts);
    });
});
