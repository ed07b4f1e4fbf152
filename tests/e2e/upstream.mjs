// A scripted fake of the Anthropic and OpenAI HTTP APIs for the SDK end-to-end tests.
// It answers from the request alone (same request, same answer), streams SSE with real,
// deterministic gaps, splits tool-input JSON and socket writes at awkward places, checks the key
// it is sent, and keeps what it received and the exact bytes it sent for the tests to assert on.
import http from 'node:http';
import https from 'node:https';
import { pathToFileURL } from 'node:url';

export const ANTHROPIC_VERSION = '2023-06-01';
const CREATED = 1750000000;  // a fixed `created` for OpenAI objects: answers never depend on time

// ---------------------------------------------------------------------------------------------
// Deterministic content.

// FNV-1a over the UTF-8 bytes: a stable 32-bit fingerprint of a request's content.
export function fingerprint(text) {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

const WORDS = ['capstan', 'azimuth', 'leader', 'splice', 'flutter', 'bias', 'spool', 'hiss',
  'pinch-roller', 'erase-head', 'reel', 'counter', 'side B', 'chrome', 'ferric', 'metal'];

// The text content of a message: a string, or the text blocks of a content array.
function contentText(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

function lastUserText(messages) {
  const users = (messages ?? []).filter((m) => m.role === 'user');
  return users.length ? contentText(users[users.length - 1].content) : '';
}

function toolResultOf(messages) {
  const last = (messages ?? [])[messages.length - 1];
  if (!last || last.role !== 'user' || !Array.isArray(last.content)) return null;
  return last.content.find((b) => b.type === 'tool_result') ?? null;
}

// A reply that depends on the prompt and carries 2-, 3- and 4-byte UTF-8 characters, so a
// client that mishandles a split code point shows it.
export function replyText(prompt) {
  const h = parseInt(fingerprint(prompt), 16);
  const picks = [0, 1, 2, 3].map((i) => WORDS[(h >>> (i * 4)) % WORDS.length]);
  const echo = prompt.length > 40 ? `${prompt.slice(0, 40)}…` : prompt;
  return `You said «${echo}». The deck answers: ${picks.join(', ')} — Grüße ☕ 🎛️ done.`;
}

// Splits text into deltas of a few code points (never inside a surrogate pair, as the API does).
function textDeltas(text, size = 6) {
  const cps = Array.from(text);
  const out = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(''));
  return out;
}

function tokenCount(value) {
  return Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));
}

// The tool input the fake "model" asks for: strings chosen so that the JSON text has escapes,
// a surrogate pair and raw non-ASCII to cut through.
export function toolInputFor(prompt) {
  const words = prompt.replace(/[?!.,]/g, '').split(/\s+/).filter(Boolean);
  return {
    location: words.length ? words[words.length - 1] : 'nowhere',
    detail: 'say "hi" \\ naïve 🎉',
    days: 3,
  };
}

// The input's JSON text as the API streams it: the emoji escaped as a surrogate pair, other
// non-ASCII raw, so the fragments below can cut mid-escape and between the surrogate halves.
export function toolInputJson(input) {
  return JSON.stringify(input).replace(/[\u{10000}-\u{10FFFF}]/gu, (ch) => {
    const hi = ch.charCodeAt(0).toString(16);
    const lo = ch.charCodeAt(1).toString(16);
    return `\\u${hi}\\u${lo}`;
  });
}

// Cuts JSON text at awkward places: inside a key, right after a backslash (mid-escape), inside a
// \uXXXX escape, between the two halves of a surrogate pair, and just before a number's digit.
export function awkwardSplit(json) {
  const cuts = new Set();
  const add = (i) => { if (i > 0 && i < json.length) cuts.add(i); };
  add(json.indexOf('"location"') + 4);                    // mid-token: `{"loc` | `ation"`
  add(json.indexOf('\\"') + 1);                           // mid-escape: `...say \` | `"hi...`
  const surrogate = json.indexOf('\\ud8');
  if (surrogate >= 0) {
    add(surrogate + 4);                                   // inside \uXXXX: `\ud8` | `3c`
    add(surrogate + 6);                                   // between the halves: `\ud83c` | `\udf89`
  }
  add(json.indexOf('\\\\') + 1);                          // between the two bytes of `\\`
  add(json.indexOf('ï') + 1);                             // just after a raw 2-byte character
  add(json.indexOf(':3') + 1);                            // before the number
  const sorted = [...cuts].sort((a, b) => a - b);
  const out = [];
  let start = 0;
  for (const c of sorted) {
    out.push(json.slice(start, c));
    start = c;
  }
  out.push(json.slice(start));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Anthropic answers.

function anthropicHeaders(requestId, extra = {}) {
  return {
    'request-id': requestId,
    'anthropic-organization-id': '00000000-0000-4000-8000-0000000e2e00',
    'anthropic-ratelimit-requests-limit': '4000',
    'anthropic-ratelimit-requests-remaining': '3999',
    'anthropic-ratelimit-requests-reset': '2025-06-15T12:00:01Z',
    'anthropic-ratelimit-tokens-limit': '400000',
    'anthropic-ratelimit-tokens-remaining': '399000',
    'anthropic-ratelimit-tokens-reset': '2025-06-15T12:00:01Z',
    'anthropic-ratelimit-input-tokens-limit': '200000',
    'anthropic-ratelimit-input-tokens-remaining': '199500',
    'anthropic-ratelimit-input-tokens-reset': '2025-06-15T12:00:01Z',
    ...extra,
  };
}

function anthropicError(type, message) {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

// The content blocks of the answer to a Messages request, before streaming or not decides the
// wire form.
function planMessage(body, fp) {
  const prompt = lastUserText(body.messages);
  const toolResult = toolResultOf(body.messages);
  const tools = Array.isArray(body.tools) ? body.tools : [];
  if (tools.length && !toolResult) {
    return {
      stopReason: 'tool_use',
      blocks: [
        { type: 'text', text: 'Let me look that up — one moment.' },
        { type: 'tool_use', id: `toolu_e2e_${fp}`, name: tools[0].name,
          input: toolInputFor(prompt) },
      ],
    };
  }
  if (toolResult) {
    const result = typeof toolResult.content === 'string' ?
      toolResult.content : contentText(toolResult.content);
    return { stopReason: 'end_turn',
      blocks: [{ type: 'text', text: `The tool reported: ${result}. ${replyText(result)}` }] };
  }
  return { stopReason: 'end_turn', blocks: [{ type: 'text', text: replyText(prompt) }] };
}

function usageFor(body, outText) {
  return {
    input_tokens: tokenCount([body.system, body.messages, body.tools]),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: tokenCount(outText),
    service_tier: 'standard',
  };
}

function messageObject(body, fp, plan) {
  const usage = usageFor(body, plan.blocks);
  return {
    id: `msg_e2e_${fp}`,
    type: 'message',
    role: 'assistant',
    model: body.model,
    content: plan.blocks,
    stop_reason: plan.stopReason,
    stop_sequence: null,
    usage,
  };
}

// The SSE events of a streamed Messages answer, each as its exact text. `cutAfter` stops after
// that many content deltas and appends an `event: error` (overloaded), as the API does when it
// sheds load mid-stream.
function messageEvents(body, fp, plan, { eol = '\n', cutAfter = -1, comment = false } = {}) {
  const ev = (name, data) => `event: ${name}${eol}data: ${JSON.stringify(data)}${eol}${eol}`;
  const full = messageObject(body, fp, plan);
  const events = [];
  events.push(ev('message_start', { type: 'message_start', message: {
    ...full, content: [], stop_reason: null, stop_sequence: null,
    usage: { ...full.usage, output_tokens: 1 } } }));
  let deltas = 0;
  const cut = () => cutAfter >= 0 && deltas >= cutAfter;
  plan.blocks.forEach((block, index) => {
    if (block.type === 'text') {
      events.push(ev('content_block_start',
        { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
      if (index === 0) events.push(`event: ping${eol}data: {"type": "ping"}${eol}${eol}`);
      if (index === 0 && comment) events.push(`: keep-alive${eol}${eol}`);
      for (const text of textDeltas(block.text)) {
        if (cut()) return;
        events.push(ev('content_block_delta',
          { type: 'content_block_delta', index, delta: { type: 'text_delta', text } }));
        deltas++;
      }
    } else {
      events.push(ev('content_block_start', { type: 'content_block_start', index,
        content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } }));
      for (const partial_json of ['', ...awkwardSplit(toolInputJson(block.input))]) {
        if (cut()) return;
        events.push(ev('content_block_delta', { type: 'content_block_delta', index,
          delta: { type: 'input_json_delta', partial_json } }));
        deltas++;
      }
    }
    if (!cut()) events.push(ev('content_block_stop', { type: 'content_block_stop', index }));
  });
  if (cutAfter >= 0) {
    events.push(`event: error${eol}data: ${anthropicError('overloaded_error', 'Overloaded')}` +
      `${eol}${eol}`);
    return events;
  }
  events.push(ev('message_delta', { type: 'message_delta',
    delta: { stop_reason: plan.stopReason, stop_sequence: null },
    usage: { output_tokens: full.usage.output_tokens } }));
  events.push(ev('message_stop', { type: 'message_stop' }));
  return events;
}

const MODELS = [
  { id: 'claude-e2e-opus-1', display_name: 'Claude E2E Opus 1',
    created_at: '2025-05-14T00:00:00Z' },
  { id: 'claude-e2e-sonnet-1', display_name: 'Claude E2E Sonnet 1',
    created_at: '2025-05-01T00:00:00Z' },
  { id: 'claude-e2e-haiku-1', display_name: 'Claude E2E Haiku 1',
    created_at: '2025-04-20T00:00:00Z' },
  { id: 'claude-e2e-legacy-0', display_name: 'Claude E2E Legacy 0',
    created_at: '2024-10-22T00:00:00Z' },
].map((m) => ({ type: 'model', ...m }));

function modelsPage(query) {
  const limit = Math.max(1, Math.min(1000, Number(query.get('limit') ?? 20)));
  const after = query.get('after_id');
  let start = 0;
  if (after) start = MODELS.findIndex((m) => m.id === after) + 1;
  const data = MODELS.slice(start, start + limit);
  return {
    data,
    has_more: start + limit < MODELS.length,
    first_id: data.length ? data[0].id : null,
    last_id: data.length ? data[data.length - 1].id : null,
  };
}

// ---------------------------------------------------------------------------------------------
// OpenAI answers.

function openaiHeaders(requestId) {
  return {
    'x-request-id': requestId,
    'openai-organization': 'org-e2e',
    'openai-processing-ms': '42',
    'openai-version': '2020-10-01',
    'x-ratelimit-limit-requests': '10000',
    'x-ratelimit-remaining-requests': '9999',
    'x-ratelimit-reset-requests': '6ms',
  };
}

function chatPlan(body) {
  const users = (body.messages ?? []).filter((m) => m.role === 'user');
  const prompt = users.length ? contentText(users[users.length - 1].content) : '';
  const text = replyText(prompt);
  return {
    text,
    usage: { prompt_tokens: tokenCount(body.messages), completion_tokens: tokenCount(text),
      total_tokens: tokenCount(body.messages) + tokenCount(text) },
  };
}

function chatEvents(body, fp) {
  const { text, usage } = chatPlan(body);
  const base = { id: `chatcmpl-e2e${fp}`, object: 'chat.completion.chunk', created: CREATED,
    model: body.model, system_fingerprint: 'fp_e2e0000' };
  const chunk = (delta, finish = null, extra = {}) => `data: ${JSON.stringify({ ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra })}\n\n`;
  const events = [chunk({ role: 'assistant', content: '', refusal: null })];
  for (const piece of textDeltas(text, 5)) events.push(chunk({ content: piece }));
  events.push(chunk({}, 'stop'));
  if (body.stream_options?.include_usage) {
    events.push(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  return events;
}

function chatObject(body, fp) {
  const { text, usage } = chatPlan(body);
  return {
    id: `chatcmpl-e2e${fp}`,
    object: 'chat.completion',
    created: CREATED,
    model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null,
      annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage,
    system_fingerprint: 'fp_e2e0000',
  };
}

// ---------------------------------------------------------------------------------------------
// The server.

// A few milliseconds, the same every run: event i waits gap(i) before it is written.
export const gap = (i) => 2 + ((i * 7) % 5);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The byte offset just inside the first multi-byte UTF-8 character of `buf`, or -1.
function midUtf8(buf) {
  for (let i = 0; i < buf.length; i++) if (buf[i] >= 0xc0) return i + 1;
  return -1;
}

// Runs the fake upstream on 127.0.0.1 (port 0 by default). `anthropicKey` and `openaiKey` are the
// only keys it accepts. With `provider` ('anthropic' or 'openai') it plays that API alone, as the
// real hosts do: only that provider's key is needed, and the other provider's endpoints get a
// 404. Resolves once it listens; the returned object's `received` and `sent` grow as requests
// arrive (one entry each, in arrival order; each received entry keeps every header, credentials
// included, for the tests to assert on). Call close() to stop it: open keep-alive connections
// are cut, so a client that still talks to it afterwards fails. With `tls` ({ cert, key }, PEM)
// it serves HTTPS instead (url then starts with https://localhost).
export async function startUpstream({ anthropicKey, openaiKey, port = 0, provider, tls } = {}) {
  if (provider !== undefined && provider !== 'anthropic' && provider !== 'openai') {
    throw new Error(`fake upstream: provider ${provider}: expected anthropic or openai`);
  }
  if ((!anthropicKey && provider !== 'openai') || (!openaiKey && provider !== 'anthropic')) {
    throw new Error('fake upstream: the key of every provider it plays must be given');
  }
  const received = [];
  const sent = [];
  const sockets = new Set();

  async function respond(req, res, rec, status, headers, chunks) {
    const out = { index: rec.index, status, headers, bytes: [] };
    sent.push(out);
    res.writeHead(status, headers);
    for (let i = 0; i < chunks.length; i++) {
      const buf = Buffer.from(chunks[i], 'utf8');
      out.bytes.push(buf);
      if (chunks.length > 1) {
        if (i === 0) res.flushHeaders();
        await pause(gap(i));
        // Every third event reaches the socket in two writes cut inside a UTF-8 character.
        const cut = i % 3 === 2 ? midUtf8(buf) : -1;
        if (cut > 0) {
          res.write(buf.subarray(0, cut));
          await pause(1);
          res.write(buf.subarray(cut));
        } else {
          res.write(buf);
        }
      } else {
        res.write(buf);
      }
      if (res.destroyed) break;
    }
    res.end();
    out.bytes = Buffer.concat(out.bytes);
  }

  function json(req, res, rec, status, headers, body) {
    return respond(req, res, rec, status,
      { 'content-type': 'application/json', ...headers }, [body]);
  }

  async function onAnthropic(req, res, rec, url) {
    const fp = fingerprint(`${req.method} ${url.pathname}${url.search} ${rec.rawBody}`);
    const requestId = `req_e2e${String(rec.index).padStart(3, '0')}${fp}`;
    // The API takes the key as `x-api-key` (curl, older SDKs) or `Authorization: Bearer` (the
    // 1.x SDKs send it that way).
    if (req.headers['x-api-key'] !== anthropicKey &&
        req.headers.authorization !== `Bearer ${anthropicKey}`) {
      return json(req, res, rec, 401, anthropicHeaders(requestId),
        anthropicError('authentication_error', 'invalid x-api-key'));
    }
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      return json(req, res, rec, 200, anthropicHeaders(requestId),
        JSON.stringify(modelsPage(url.searchParams)));
    }
    if (req.method !== 'POST' || rec.body === undefined) {
      return json(req, res, rec, 404, anthropicHeaders(requestId),
        anthropicError('not_found_error', `${req.method} ${url.pathname}: no such endpoint`));
    }
    const body = rec.body;
    if (url.pathname === '/v1/messages/count_tokens') {
      return json(req, res, rec, 200, anthropicHeaders(requestId),
        JSON.stringify({ input_tokens: tokenCount([body.system, body.messages, body.tools]) }));
    }
    if (url.pathname !== '/v1/messages') {
      return json(req, res, rec, 404, anthropicHeaders(requestId),
        anthropicError('not_found_error', `${url.pathname}: no such endpoint`));
    }
    if (rec.rawBody.includes('TRIGGER_429')) {
      return json(req, res, rec, 429, anthropicHeaders(requestId, {
        'retry-after': '1', 'retry-after-ms': '20',
        'anthropic-ratelimit-requests-remaining': '0' }),
        anthropicError('rate_limit_error',
          'This request would exceed the rate limit for your organization (scripted).'));
    }
    if (rec.rawBody.includes('TRIGGER_529')) {
      return json(req, res, rec, 529, anthropicHeaders(requestId),
        anthropicError('overloaded_error', 'Overloaded'));
    }
    const plan = planMessage(body, fp);
    if (!body.stream) {
      return json(req, res, rec, 200, anthropicHeaders(requestId),
        JSON.stringify(messageObject(body, fp, plan)));
    }
    const crlf = rec.rawBody.includes('TRIGGER_CRLF');
    const events = messageEvents(body, fp, plan, {
      eol: crlf ? '\r\n' : '\n',
      comment: crlf,
      cutAfter: rec.rawBody.includes('TRIGGER_STREAM_ERROR') ? 3 : -1,
    });
    return respond(req, res, rec, 200, anthropicHeaders(requestId, {
      'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }), events);
  }

  async function onOpenAI(req, res, rec) {
    const fp = fingerprint(`${req.method} ${rec.path} ${rec.rawBody}`);
    const requestId = `req_oa_e2e${String(rec.index).padStart(3, '0')}${fp}`;
    if (req.headers.authorization !== `Bearer ${openaiKey}`) {
      return json(req, res, rec, 401, openaiHeaders(requestId), JSON.stringify({ error: {
        message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null,
        code: 'invalid_api_key' } }));
    }
    const body = rec.body ?? {};
    if (!body.stream) {
      return json(req, res, rec, 200, openaiHeaders(requestId),
        JSON.stringify(chatObject(body, fp)));
    }
    return respond(req, res, rec, 200, { ...openaiHeaders(requestId),
      'content-type': 'text/event-stream; charset=utf-8' }, chatEvents(body, fp));
  }

  const onRequest = (req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://upstream.invalid');
      const rawBody = Buffer.concat(parts).toString('utf8');
      let body;
      if (rawBody.length) {
        try { body = JSON.parse(rawBody); } catch { body = undefined; }
      }
      const rec = { index: received.length, method: req.method, path: url.pathname,
        query: url.search, headers: { ...req.headers }, rawBody, body };
      received.push(rec);
      const wants = url.pathname === '/v1/chat/completions' ? 'openai' : 'anthropic';
      let handler;
      if (provider && provider !== wants) {
        handler = json(req, res, rec, 404, {}, provider === 'anthropic' ?
          anthropicError('not_found_error', `${url.pathname}: no such endpoint`) :
          JSON.stringify({ error: { message: `Invalid URL (${req.method} ${url.pathname})`,
            type: 'invalid_request_error', param: null, code: null } }));
      } else {
        handler = wants === 'openai' ? onOpenAI(req, res, rec) : onAnthropic(req, res, rec, url);
      }
      handler.catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(anthropicError('api_error', `fake upstream: ${err.message}`));
      });
    });
  };
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const actualPort = server.address().port;
  return {
    port: actualPort,
    url: tls ? `https://localhost:${actualPort}` : `http://127.0.0.1:${actualPort}`,
    anthropicKey,
    openaiKey,
    received,
    sent,
    // The response sent to the request at `index` in `received`.
    sentFor: (index) => sent.find((s) => s.index === index),
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}

// By hand: `E2E_ANTHROPIC_KEY=... E2E_OPENAI_KEY=... node upstream.mjs [PORT]` prints its URL;
// E2E_PROVIDER=anthropic (or openai) plays that API alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const up = await startUpstream({
    anthropicKey: process.env.E2E_ANTHROPIC_KEY,
    openaiKey: process.env.E2E_OPENAI_KEY,
    port: Number(process.argv[2] ?? 0),
    provider: process.env.E2E_PROVIDER || undefined,
  });
  process.stderr.write(`upstream listening on ${up.url}\n`);
  process.on('SIGTERM', () => up.close().then(() => process.exit(0)));
  process.on('SIGINT', () => up.close().then(() => process.exit(0)));
}
