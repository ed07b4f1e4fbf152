// The client side of the SDK end-to-end tests: each scenario drives the official Anthropic or
// OpenAI SDK (or curl) against a base URL and returns a transcript, plain JSON of what the client
// saw. The same scenario runs directly against the fake upstream, through `tapedeck record` and
// through `tapedeck replay`; `verify` checks a transcript against what the upstream scripted.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import { awkwardSplit, gap, replyText, toolInputFor, toolInputJson } from './upstream.mjs';

export const MODEL = 'claude-e2e-sonnet-1';
export const OPENAI_MODEL = 'gpt-e2e-mini';
const REQUEST_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Clients. `ctx` is { phase: 'direct'|'record'|'replay', baseURL, anthropicKey, openaiKey,
// fromEnv, fetchOptions }. With fromEnv the SDKs configure themselves from the environment alone
// (as under `tapedeck exec`); fetchOptions (e.g. an undici ProxyAgent as `dispatcher`) go to the
// Anthropic client. Each client counts the HTTP attempts it makes, retries included.

function countingFetch(counter) {
  return (url, init) => {
    counter.attempts++;
    return fetch(url, init);
  };
}

export function anthropicClient(ctx, { maxRetries = 0 } = {}) {
  const counter = { attempts: 0 };
  const opts = { maxRetries, timeout: REQUEST_TIMEOUT_MS, fetch: countingFetch(counter) };
  if (!ctx.fromEnv) Object.assign(opts, { baseURL: ctx.baseURL, apiKey: ctx.anthropicKey });
  if (ctx.fetchOptions) opts.fetchOptions = ctx.fetchOptions;
  return { client: new Anthropic(opts), counter };
}

export function openaiClient(ctx, { maxRetries = 0 } = {}) {
  const counter = { attempts: 0 };
  const opts = { maxRetries, timeout: REQUEST_TIMEOUT_MS, fetch: countingFetch(counter) };
  if (!ctx.fromEnv) Object.assign(opts, { baseURL: `${ctx.baseURL}/v1`, apiKey: ctx.openaiKey });
  return { client: new OpenAI(opts), counter };
}

// ---------------------------------------------------------------------------------------------
// Transcript helpers: keep what a user relies on, as plain JSON.

const plain = (value) => JSON.parse(JSON.stringify(value ?? null));

const textOf = (message) =>
  message.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

function messageSummary(message) {
  return plain({
    id: message.id,
    model: message.model,
    role: message.role,
    text: textOf(message),
    content_types: message.content.map((b) => b.type),
    stop_reason: message.stop_reason,
    usage: message.usage,
  });
}

const RATE_HEADERS = ['anthropic-ratelimit-requests-remaining',
  'anthropic-ratelimit-tokens-remaining', 'anthropic-ratelimit-input-tokens-reset'];

function pickHeaders(headers, names) {
  const out = {};
  for (const name of names) out[name] = headers?.get(name) ?? null;
  return out;
}

export function errorInfo(err, headerNames = []) {
  return plain({
    name: err?.name,
    status: err?.status,
    type: err?.type,
    api_message: err?.apiMessage ?? err?.error?.error?.message ?? err?.error?.message,
    request_id: err?.requestID ?? err?.request_id,
    headers: pickHeaders(err?.headers, headerNames),
  });
}

// The user message of most scenarios.
const userMessage = (text) => ({ role: 'user', content: text });

// ---------------------------------------------------------------------------------------------
// Sanity checks shared by the scenarios: the transcript must show what the upstream scripted,
// so a proxy that served nothing (or the wrong thing) cannot pass.

function assertRequestIds(upstream, ids) {
  const sentIds = upstream.sent.map((s) => s.headers['request-id'] ?? s.headers['x-request-id']);
  for (const id of ids) assert.ok(sentIds.includes(id), `request id ${id} was sent by upstream`);
}

// ---------------------------------------------------------------------------------------------
// The scenarios.

const CREATE_PROMPTS = ['Name three parts of a cassette deck.', 'Which way does side B run?'];

const messagesCreate = {
  name: 'messages.create, not streamed',
  async run(ctx) {
    const { client } = anthropicClient(ctx);
    const out = [];
    for (const prompt of CREATE_PROMPTS) {
      const { data, response, request_id } = await client.messages
        .create({ model: MODEL, max_tokens: 256, messages: [userMessage(prompt)] })
        .withResponse();
      out.push({ ...messageSummary(data), request_id, status: response.status,
        content_type: response.headers.get('content-type'),
        headers: pickHeaders(response.headers, RATE_HEADERS) });
    }
    return out;
  },
  verify(tr, upstream) {
    assert.equal(tr.length, 2);
    tr.forEach((item, i) => {
      assert.equal(item.text, replyText(CREATE_PROMPTS[i]));
      assert.equal(item.stop_reason, 'end_turn');
      assert.equal(item.headers['anthropic-ratelimit-tokens-remaining'], '399000');
      assert.match(item.content_type, /^application\/json/);
    });
    assert.notEqual(tr[0].text, tr[1].text, 'different requests get different answers');
    assertRequestIds(upstream, tr.map((t) => t.request_id));
    assert.equal(upstream.received.length, 2);
  },
};

const STREAM_PROMPT = 'Play side A from the start, please.';

const messagesStream = {
  name: 'messages.stream with text events and finalMessage()',
  async run(ctx) {
    const { client } = anthropicClient(ctx);
    const stream = client.messages.stream({ model: MODEL, max_tokens: 256,
      messages: [userMessage(STREAM_PROMPT)] });
    const deltas = [];
    const eventTypes = [];
    stream.on('text', (delta) => deltas.push(delta));
    stream.on('streamEvent', (event) => eventTypes.push(event.type));
    const final = await stream.finalMessage();
    const finalText = await stream.finalText();
    return { deltas, event_types: eventTypes, final: messageSummary(final), final_text: finalText,
      request_id: stream.request_id };
  },
  verify(tr, upstream) {
    assert.equal(tr.deltas.join(''), replyText(STREAM_PROMPT));
    assert.ok(tr.deltas.length > 5, 'the answer arrived as many deltas');
    assert.equal(tr.final_text, replyText(STREAM_PROMPT));
    assert.equal(tr.final.stop_reason, 'end_turn');
    assert.deepEqual(tr.event_types.slice(0, 2), ['message_start', 'content_block_start']);
    assert.equal(tr.event_types[tr.event_types.length - 1], 'message_stop');
    assertRequestIds(upstream, [tr.request_id]);
  },
};

// Replayed with the recorded timing, the stream must take at least (most of) the gaps the
// upstream put between its events; only a lower bound, so a slow machine cannot fail it.
const pacedStream = {
  ...messagesStream,
  name: 'messages.stream replayed with --timing recorded keeps the upstream\'s pacing',
  replayArgs: ['--timing', 'recorded'],
  async run(ctx) {
    const start = process.hrtime.bigint();
    const transcript = await messagesStream.run(ctx);
    return { ...transcript, elapsed_ms: Number(process.hrtime.bigint() - start) / 1e6 };
  },
  compare(recorded, replayed) {
    const { elapsed_ms: recordedMs, ...recordedRest } = recorded;
    const { elapsed_ms: replayedMs, ...replayedRest } = replayed;
    assert.deepStrictEqual(replayedRest, recordedRest);
    const events = recorded.event_types.length + 1;  // + the ping, which the SDK drops
    let scripted = 0;
    for (let i = 0; i < events; i++) scripted += gap(i);
    assert.ok(recordedMs >= scripted, `recording took ${recordedMs} ms >= ${scripted} ms`);
    assert.ok(replayedMs >= 0.8 * scripted,
      `replay took ${replayedMs.toFixed(1)} ms, the upstream's gaps add up to ${scripted} ms`);
  },
};

const TOOLS = [{
  name: 'get_weather',
  description: 'Current weather for a place.',
  input_schema: { type: 'object', required: ['location'], properties: {
    location: { type: 'string' }, detail: { type: 'string' }, days: { type: 'integer' } } },
}];
const TOOL_PROMPT = 'What is the weather like in Zürich?';
const TOOL_RESULT = '18°C and drizzle';

const toolRoundTrip = {
  name: 'tool use round trip: streamed tool_use, then tool_result',
  async run(ctx) {
    const { client } = anthropicClient(ctx);
    const first = [userMessage(TOOL_PROMPT)];
    const stream = client.messages.stream({ model: MODEL, max_tokens: 512, tools: TOOLS,
      messages: first });
    const fragments = [];
    const snapshots = [];
    stream.on('inputJson', (partial, snapshot) => {
      fragments.push(partial);
      snapshots.push(plain(snapshot));
    });
    const firstFinal = await stream.finalMessage();
    const toolUse = firstFinal.content.find((b) => b.type === 'tool_use');
    const second = await client.messages.create({ model: MODEL, max_tokens: 512, tools: TOOLS,
      messages: [...first, { role: 'assistant', content: firstFinal.content },
        { role: 'user', content: [
          { type: 'tool_result', tool_use_id: toolUse.id, content: TOOL_RESULT }] }] });
    return {
      first: { ...messageSummary(firstFinal), fragments, snapshots,
        tool_use: plain({ id: toolUse.id, name: toolUse.name, input: toolUse.input }) },
      second: messageSummary(second),
    };
  },
  verify(tr, upstream) {
    const input = toolInputFor(TOOL_PROMPT);
    assert.equal(tr.first.stop_reason, 'tool_use');
    assert.deepEqual(tr.first.tool_use.input, input);
    assert.equal(tr.first.tool_use.name, 'get_weather');
    assert.equal(tr.first.fragments.join(''), toolInputJson(input));
    assert.deepEqual(tr.first.fragments, ['', ...awkwardSplit(toolInputJson(input))]);
    assert.ok(tr.first.fragments.some((f) => f.endsWith('\\')), 'a fragment ends mid-escape');
    assert.ok(tr.first.fragments.some((f) => f.endsWith('\\ud8')), 'a fragment ends mid-\\u');
    assert.ok(tr.first.fragments.some((f) => f.startsWith('\\udf89')), 'a cut between halves');
    assert.deepEqual(tr.first.snapshots[tr.first.snapshots.length - 1], input);
    assert.equal(tr.second.stop_reason, 'end_turn');
    assert.ok(tr.second.text.startsWith(`The tool reported: ${TOOL_RESULT}.`), tr.second.text);
    assert.equal(upstream.received.length, 2);
    const followUp = upstream.received[1].body.messages;
    assert.equal(followUp[2].content[0].type, 'tool_result');
    assert.equal(followUp[2].content[0].tool_use_id, tr.first.tool_use.id);
  },
};

const COUNT_MESSAGES = [userMessage('How many tokens is this tape?')];

const countAndModels = {
  name: 'messages.countTokens and models.list (paged)',
  async run(ctx) {
    const { client } = anthropicClient(ctx);
    const count = await client.messages.countTokens({ model: MODEL, messages: COUNT_MESSAGES });
    const ids = [];
    for await (const model of client.models.list({ limit: 3 })) ids.push(model.id);
    const page = await client.models.list({ limit: 2 });
    return plain({ input_tokens: count.input_tokens, all_ids: ids,
      first_page: { ids: page.data.map((m) => m.id), has_more: page.has_more,
        last_id: page.last_id, display: page.data.map((m) => m.display_name) } });
  },
  verify(tr, upstream) {
    assert.ok(tr.input_tokens > 0);
    assert.deepEqual(tr.all_ids, ['claude-e2e-opus-1', 'claude-e2e-sonnet-1', 'claude-e2e-haiku-1',
      'claude-e2e-legacy-0']);
    assert.deepEqual(tr.first_page.ids, ['claude-e2e-opus-1', 'claude-e2e-sonnet-1']);
    assert.equal(tr.first_page.has_more, true);
    const paths = upstream.received.map((r) => `${r.method} ${r.path}${r.query}`);
    assert.deepEqual(paths, ['POST /v1/messages/count_tokens', 'GET /v1/models?limit=3',
      'GET /v1/models?limit=3&after_id=claude-e2e-haiku-1', 'GET /v1/models?limit=2']);
  },
};

const scriptedErrors = {
  name: '429 with retry-after and 529 overloaded as typed SDK errors',
  async run(ctx) {
    const out = {};
    const retrying = anthropicClient(ctx, { maxRetries: 1 });
    try {
      await retrying.client.messages.create({ model: MODEL, max_tokens: 64,
        messages: [userMessage('TRIGGER_429 rewind everything')] });
      out.rate_limited = 'no error';
    } catch (err) {
      out.rate_limited = {
        ...errorInfo(err, ['retry-after', 'anthropic-ratelimit-requests-remaining']),
        is_rate_limit_error: err instanceof Anthropic.RateLimitError,
        attempts: retrying.counter.attempts };
    }
    const once = anthropicClient(ctx, { maxRetries: 0 });
    try {
      await once.client.messages.create({ model: MODEL, max_tokens: 64,
        messages: [userMessage('TRIGGER_529 fast forward')] });
      out.overloaded = 'no error';
    } catch (err) {
      out.overloaded = { ...errorInfo(err),
        is_overloaded_error: err instanceof Anthropic.OverloadedError,
        is_internal_server_error: err instanceof Anthropic.InternalServerError,
        attempts: once.counter.attempts };
    }
    return out;
  },
  verify(tr, upstream) {
    assert.equal(tr.rate_limited.name, 'RateLimitError');
    assert.equal(tr.rate_limited.is_rate_limit_error, true);
    assert.equal(tr.rate_limited.status, 429);
    assert.equal(tr.rate_limited.type, 'rate_limit_error');
    assert.equal(tr.rate_limited.headers['retry-after'], '1');
    assert.equal(tr.rate_limited.attempts, 2, 'one retry, as maxRetries: 1 allows');
    assert.equal(tr.overloaded.name, 'OverloadedError');
    assert.equal(tr.overloaded.is_overloaded_error, true);
    assert.equal(tr.overloaded.status, 529);
    assert.equal(tr.overloaded.type, 'overloaded_error');
    assert.equal(tr.overloaded.attempts, 1);
    assert.equal(upstream.received.length, 3);
    // The retry is the second recorded copy of the same request; its id says so.
    assertRequestIds(upstream, [tr.rate_limited.request_id, tr.overloaded.request_id]);
    assert.equal(upstream.sentFor(1).headers['request-id'], tr.rate_limited.request_id);
  },
};

const STREAM_ERROR_PROMPT = 'TRIGGER_STREAM_ERROR tell me a long story about tape hiss';

const streamError = {
  name: 'event: error mid-stream raises in the SDK',
  async run(ctx) {
    const { client } = anthropicClient(ctx);
    const stream = client.messages.stream({ model: MODEL, max_tokens: 256,
      messages: [userMessage(STREAM_ERROR_PROMPT)] });
    const deltas = [];
    stream.on('text', (delta) => deltas.push(delta));
    let error = null;
    try {
      await stream.finalMessage();
    } catch (err) {
      error = { ...errorInfo(err), is_api_error: err instanceof Anthropic.APIError };
    }
    return { deltas, error, request_id: stream.request_id };
  },
  verify(tr, upstream) {
    assert.equal(tr.deltas.length, 3);
    assert.ok(replyText(STREAM_ERROR_PROMPT).startsWith(tr.deltas.join('')));
    assert.ok(tr.error, 'the stream raised');
    assert.equal(tr.error.is_api_error, true);
    assert.equal(tr.error.type, 'overloaded_error');
    assertRequestIds(upstream, [tr.request_id]);
  },
};

const CHAT_PROMPTS = ['Rewind the tape.', 'Fast-forward to the chorus.'];

const openaiChat = {
  name: 'OpenAI chat.completions, streamed (ends in [DONE]) and not',
  async run(ctx) {
    const { client } = openaiClient(ctx);
    const { data, response } = await client.chat.completions.create({ model: OPENAI_MODEL,
      messages: [{ role: 'system', content: 'You are terse.' },
        { role: 'user', content: CHAT_PROMPTS[0] }] }).withResponse();
    const whole = plain({ id: data.id, text: data.choices[0].message.content,
      finish_reason: data.choices[0].finish_reason, usage: data.usage,
      request_id: response.headers.get('x-request-id') });
    const stream = await client.chat.completions.create({ model: OPENAI_MODEL, stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: CHAT_PROMPTS[1] }] });
    const pieces = [];
    let finish = null;
    let usage = null;
    const ids = new Set();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      if (chunk.choices[0]?.delta?.content) pieces.push(chunk.choices[0].delta.content);
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    return { whole, streamed: plain({ pieces, finish_reason: finish, usage, ids: [...ids] }) };
  },
  verify(tr, upstream) {
    assert.equal(tr.whole.text, replyText(CHAT_PROMPTS[0]));
    assert.equal(tr.whole.finish_reason, 'stop');
    assert.equal(tr.streamed.pieces.join(''), replyText(CHAT_PROMPTS[1]));
    assert.equal(tr.streamed.finish_reason, 'stop');
    assert.ok(tr.streamed.usage.total_tokens > 0);
    assert.equal(tr.streamed.ids.length, 1);
    assert.equal(upstream.received[0].headers.authorization, `Bearer ${upstream.openaiKey}`);
    assert.ok(upstream.sentFor(1).bytes.toString('utf8').endsWith('data: [DONE]\n\n'));
    assertRequestIds(upstream, [tr.whole.request_id]);
  },
};

// The record run sends one key order and user id, the replay run another; matching with the
// given replay flags must still find the recording.
const RECORD_USER = 'user-recorded-0001';
const REPLAY_USER = 'user-replayed-0002';

function reorderedBodies(phase, stream) {
  const text = stream ? 'Eject the tape, slowly.' : 'Eject the tape.';
  if (phase !== 'replay') {
    return { model: MODEL, max_tokens: 200, temperature: 0,
      metadata: { user_id: RECORD_USER }, system: 'You are a tape deck.',
      messages: [{ role: 'user', content: [{ type: 'text', text }] }] };
  }
  return { messages: [{ content: [{ text, type: 'text' }], role: 'user' }],
    system: 'You are a tape deck.', metadata: { user_id: REPLAY_USER }, temperature: 0,
    max_tokens: 200, model: MODEL };
}

function reordered(name, replayArgs) {
  return {
    name,
    replayArgs,
    async run(ctx) {
      const { client } = anthropicClient(ctx);
      const whole = await client.messages.create(reorderedBodies(ctx.phase, false));
      const stream = client.messages.stream(reorderedBodies(ctx.phase, true));
      const deltas = [];
      stream.on('text', (d) => deltas.push(d));
      const final = await stream.finalMessage();
      return { whole: messageSummary(whole), deltas, streamed: messageSummary(final) };
    },
    verify(tr, upstream) {
      assert.equal(tr.whole.text, replyText('Eject the tape.'));
      assert.equal(tr.deltas.join(''), replyText('Eject the tape, slowly.'));
      for (const r of upstream.received) assert.equal(r.body.metadata.user_id, RECORD_USER);
      assert.ok(upstream.received[0].rawBody.startsWith('{"model"'));
    },
  };
}

const CURL_BODY = JSON.stringify({ model: MODEL, max_tokens: 128, stream: true,
  messages: [{ role: 'user', content: 'TRIGGER_CRLF Read me the track list.' }] });

// curl as a README shows it; resolves to { status, body } with the body bytes as a string.
export function curlMessages(baseURL, key, body) {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sN', '--max-time', '10', `${baseURL}/v1/messages`,
      '-H', `x-api-key: ${key}`, '-H', 'anthropic-version: 2023-06-01',
      '-H', 'content-type: application/json', '-d', body, '-w', '%{stderr}%{http_code}'],
    { encoding: 'buffer', timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl failed: ${err.message}: ${stderr}`));
      resolve({ status: Number(stderr.toString()), body: stdout.toString('utf8') });
    });
  });
}

const curlSse = {
  name: 'curl -sN gets the recorded SSE bytes',
  async run(ctx) {
    const key = ctx.fromEnv ? process.env.ANTHROPIC_API_KEY : ctx.anthropicKey;
    return curlMessages(ctx.baseURL, key, CURL_BODY);
  },
  verify(tr, upstream) {
    assert.equal(tr.status, 200);
    assert.equal(upstream.received[0].headers['x-api-key'], upstream.anthropicKey);
    assert.equal(tr.body, upstream.sentFor(0).bytes.toString('utf8'),
      'the exact bytes upstream sent');
    assert.ok(tr.body.includes('\r\n') && tr.body.includes(': keep-alive\r\n'));
    assert.ok(tr.body.includes('event: ping'));
  },
};

const MISS_PROMPT = 'This prompt was never recorded.';
const HIT_PROMPT = 'Record this one.';

const replayMiss = {
  name: 'a request not in the cassette: NotFoundError (404), not retried',
  async run(ctx) {
    const { client } = anthropicClient(ctx);
    const hit = await client.messages.create({ model: MODEL, max_tokens: 64,
      messages: [userMessage(HIT_PROMPT)] });
    return { hit: messageSummary(hit) };
  },
  // The replay run asks for something else first (with the SDK's default retries), then for the
  // recorded request, which must still be served.
  async replayRun(ctx) {
    const { client, counter } = anthropicClient(ctx, { maxRetries: 2 });
    let miss = 'no error';
    try {
      await client.messages.create({ model: MODEL, max_tokens: 64,
        messages: [userMessage(MISS_PROMPT)] });
    } catch (err) {
      miss = { ...errorInfo(err, ['x-should-retry', 'content-type']),
        is_not_found_error: err instanceof Anthropic.NotFoundError,
        body_type: err.error?.type ?? null, attempts: counter.attempts };
    }
    const hit = await client.messages.create({ model: MODEL, max_tokens: 64,
      messages: [userMessage(HIT_PROMPT)] });
    return { hit: messageSummary(hit), miss };
  },
  verify(tr) {
    assert.equal(tr.hit.text, replyText(HIT_PROMPT));
  },
  compare(recorded, replayed) {
    assert.deepEqual(replayed.hit, recorded.hit);
    const miss = replayed.miss;
    assert.equal(miss.name, 'NotFoundError');
    assert.equal(miss.is_not_found_error, true);
    assert.equal(miss.status, 404);
    assert.equal(miss.body_type, 'error', 'an Anthropic-shaped error body');
    assert.equal(typeof miss.type, 'string');
    assert.equal(miss.headers['x-should-retry'], 'false');
    assert.match(miss.headers['content-type'], /^application\/json/);
    assert.equal(miss.attempts, 1, 'the SDK did not retry the miss');
  },
};

// Run in-process for the record, and by `tapedeck exec` (exec-client.mjs) for the replay.
const execCombo = {
  name: 'tapedeck exec gives the SDKs their base URLs and keys',
  async run(ctx) {
    const { client } = anthropicClient(ctx);
    const msg = await client.messages.create({ model: MODEL, max_tokens: 64,
      messages: [userMessage('Run me under exec.')] });
    const oa = openaiClient(ctx).client;
    const chat = await oa.chat.completions.create({ model: OPENAI_MODEL,
      messages: [{ role: 'user', content: 'Run me under exec, too.' }] });
    return { message: messageSummary(msg),
      chat: plain({ id: chat.id, text: chat.choices[0].message.content }) };
  },
  verify(tr, upstream) {
    assert.equal(tr.message.text, replyText('Run me under exec.'));
    assert.equal(tr.chat.text, replyText('Run me under exec, too.'));
    assert.equal(upstream.received.length, 2);
  },
};

// One program, both SDKs, configured from the environment alone (run by exec-client.mjs under
// `tapedeck exec` with two mounts): a message and a message stream from Anthropic, a chat
// completion and a chat stream from OpenAI. `verify` takes the two upstreams it was recorded
// from, { anthropic, openai }.
const TWO_PROMPTS = {
  create: 'Which head erases the tape?',
  stream: 'Describe the capstan in one line.',
  chat: 'Name the tape speed of a compact cassette.',
  chatStream: 'Spell out Dolby noise reduction.',
};

const twoProviders = {
  name: 'one program, both SDKs, each provider through its own mount',
  async run(ctx) {
    const { client: claude } = anthropicClient(ctx);
    const { data: created, request_id } = await claude.messages
      .create({ model: MODEL, max_tokens: 128, messages: [userMessage(TWO_PROMPTS.create)] })
      .withResponse();
    const stream = claude.messages.stream({ model: MODEL, max_tokens: 128,
      messages: [userMessage(TWO_PROMPTS.stream)] });
    const deltas = [];
    stream.on('text', (delta) => deltas.push(delta));
    const final = await stream.finalMessage();

    const { client: gpt } = openaiClient(ctx);
    const { data: chat, response } = await gpt.chat.completions.create({ model: OPENAI_MODEL,
      messages: [{ role: 'user', content: TWO_PROMPTS.chat }] }).withResponse();
    const chunks = await gpt.chat.completions.create({ model: OPENAI_MODEL, stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: TWO_PROMPTS.chatStream }] });
    const pieces = [];
    let finish = null;
    let usage = null;
    for await (const chunk of chunks) {
      if (chunk.choices[0]?.delta?.content) pieces.push(chunk.choices[0].delta.content);
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    return plain({
      anthropic: {
        create: { ...messageSummary(created), request_id },
        stream: { deltas, final: messageSummary(final), request_id: stream.request_id },
      },
      openai: {
        create: { id: chat.id, text: chat.choices[0].message.content,
          finish_reason: chat.choices[0].finish_reason, usage: chat.usage,
          request_id: response.headers.get('x-request-id') },
        stream: { pieces, finish_reason: finish, usage },
      },
    });
  },
  verify(tr, { anthropic, openai }) {
    assert.equal(tr.anthropic.create.text, replyText(TWO_PROMPTS.create));
    assert.equal(tr.anthropic.create.stop_reason, 'end_turn');
    assert.equal(tr.anthropic.stream.deltas.join(''), replyText(TWO_PROMPTS.stream));
    assert.ok(tr.anthropic.stream.deltas.length > 5, 'the answer arrived as many deltas');
    assert.equal(tr.anthropic.stream.final.text, replyText(TWO_PROMPTS.stream));
    assert.equal(tr.openai.create.text, replyText(TWO_PROMPTS.chat));
    assert.equal(tr.openai.create.finish_reason, 'stop');
    assert.equal(tr.openai.stream.pieces.join(''), replyText(TWO_PROMPTS.chatStream));
    assert.equal(tr.openai.stream.finish_reason, 'stop');
    assert.ok(tr.openai.stream.usage.total_tokens > 0);
    assertRequestIds(anthropic, [tr.anthropic.create.request_id, tr.anthropic.stream.request_id]);
    assertRequestIds(openai, [tr.openai.create.request_id]);
  },
};

// Scenarios only `tapedeck exec` runs (exec-client.mjs), with more than one upstream.
export const EXEC_SCENARIOS = { twoProviders };

export const SCENARIOS = {
  messagesCreate,
  messagesStream,
  messagesStreamByteChunks: { ...messagesStream,
    name: 'messages.stream replayed one byte per write (--chunking byte)',
    replayArgs: ['--chunking', 'byte'] },
  pacedStream,
  toolRoundTrip,
  toolRoundTripRandomChunks: { ...toolRoundTrip,
    name: 'tool use round trip replayed in random splits (--chunking random:7)',
    replayArgs: ['--chunking', 'random:7'] },
  countAndModels,
  scriptedErrors,
  streamError,
  openaiChat,
  reorderedPreset: reordered(
    'reordered JSON keys and another metadata.user_id (--preset anthropic)',
    ['--preset', 'anthropic']),
  reorderedIgnorePath: reordered(
    'reordered JSON keys and another metadata.user_id (--ignore-json-path metadata.user_id)',
    ['--ignore-json-path', 'metadata.user_id']),
  curlSse,
  replayMiss,
  execCombo,
};
