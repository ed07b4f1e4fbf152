// The sample suite's five tests, runner-agnostic: the official Anthropic and OpenAI SDKs, each
// configured from the environment alone (the base URLs useCassette sets), streamed and not.
// Each returns a transcript of what the client saw. SAMPLE_CHANGE=<test title> changes that
// test's prompt, as an edited test would; SAMPLE_OUT=<folder> keeps each transcript there.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const MODEL = 'claude-e2e-sonnet-1';
const OPENAI_MODEL = 'gpt-e2e-mini';
const TIMEOUT_MS = 10_000;

function prompt(title, text) {
  return process.env.SAMPLE_CHANGE === title ? `${text} (edited)` : text;
}

// maxRetries 0: a miss must fail at once, not after the SDK's backoff.
const anthropic = () => new Anthropic({ maxRetries: 0, timeout: TIMEOUT_MS });
const openai = () => new OpenAI({ maxRetries: 0, timeout: TIMEOUT_MS });

export const SCENARIOS = {
  'anthropic message': async () => {
    const text = prompt('anthropic message', 'Name one part of a tape deck.');
    const m = await anthropic().messages.create({ model: MODEL, max_tokens: 64,
      messages: [{ role: 'user', content: text }] });
    return { prompt: text, id: m.id, text: m.content.map((b) => b.text).join(''),
      stop_reason: m.stop_reason, usage: m.usage };
  },
  'anthropic stream': async () => {
    const text = prompt('anthropic stream', 'Stream me the parts of a cassette.');
    const stream = anthropic().messages.stream({ model: MODEL, max_tokens: 64,
      messages: [{ role: 'user', content: text }] });
    const deltas = [];
    stream.on('text', (t) => deltas.push(t));
    const m = await stream.finalMessage();
    return { prompt: text, id: m.id, deltas, text: m.content.map((b) => b.text).join(''),
      stop_reason: m.stop_reason, usage: m.usage };
  },
  // An app that answers from a fallback when the API fails: a miss does not fail this test by
  // itself, so only the cassette check can.
  'anthropic with fallback': async () => {
    const text = prompt('anthropic with fallback', 'Which tape is best for music?');
    try {
      const m = await anthropic().messages.create({ model: MODEL, max_tokens: 64,
        messages: [{ role: 'user', content: text }] });
      return { prompt: text, id: m.id, text: m.content.map((b) => b.text).join('') };
    } catch {
      return { prompt: text, fallback: true, text: 'chrome, probably' };
    }
  },
  'openai chat': async () => {
    const text = prompt('openai chat', 'What does the capstan do?');
    const c = await openai().chat.completions.create({ model: OPENAI_MODEL,
      messages: [{ role: 'user', content: text }] });
    return { prompt: text, id: c.id, text: c.choices[0].message.content,
      finish_reason: c.choices[0].finish_reason, usage: c.usage };
  },
  'openai stream': async () => {
    const text = prompt('openai stream', 'Stream the story of side B.');
    const stream = await openai().chat.completions.create({ model: OPENAI_MODEL, stream: true,
      stream_options: { include_usage: true }, messages: [{ role: 'user', content: text }] });
    const deltas = [];
    let usage;
    let id;
    for await (const chunk of stream) {
      id = chunk.id;
      if (chunk.usage) usage = chunk.usage;
      const d = chunk.choices[0]?.delta?.content;
      if (d) deltas.push(d);
    }
    return { prompt: text, id, deltas, text: deltas.join(''), usage };
  },
};

// Runs one scenario, checks that the reply quotes its prompt (the fake upstream's answers do;
// a fallback answer is let through),
// and keeps the transcript in SAMPLE_OUT under the cassette's name.
export async function runScenario(title, cassette) {
  const transcript = await SCENARIOS[title]();
  const quoted = transcript.prompt.slice(0, 40);
  if (!transcript.fallback && !transcript.text.includes(quoted)) {
    throw new Error(`${title}: the reply ${JSON.stringify(transcript.text)} does not quote ` +
      `the prompt ${JSON.stringify(quoted)}`);
  }
  if (process.env.SAMPLE_OUT) {
    writeFileSync(join(process.env.SAMPLE_OUT, `${cassette.replaceAll('/', '__')}.json`),
      JSON.stringify({ cassette, title, transcript }));
  }
  return transcript;
}
