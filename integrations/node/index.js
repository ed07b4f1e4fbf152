// tapedeck for Node test suites (vitest, jest, node:test): start one tapedeck for the whole suite,
// give each test a cassette of its own through its SDK base URLs, and turn a test's misses into
// that test's failure. Plain ESM, Node 20+, no dependencies. The guide is docs/node.md.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { basename, resolve as resolvePath } from 'node:path';

// The variable the global setups publish tapedeck's address in, for the test workers.
export const URL_VARIABLE = 'TAPEDECK_URL';

// Each provider's mount, as it follows `/cassette/NAME` in a base URL.
const MOUNT_PATHS = { anthropic: '/anthropic', openai: '/openai/v1', gemini: '/gemini' };
// The variable each provider's official SDK reads its base URL from.
const BASE_URL_VARIABLES = {
  anthropic: 'ANTHROPIC_BASE_URL',
  openai: 'OPENAI_BASE_URL',
  gemini: 'GOOGLE_GEMINI_BASE_URL',
};
const MODES = ['replay', 'record', 'auto'];
const DEFAULT_UPSTREAMS = {
  anthropic: 'https://api.anthropic.com',
  openai: 'https://api.openai.com',
  gemini: 'https://generativelanguage.googleapis.com',
};
// In replay, what an unset key variable gets: the SDKs refuse to start without some key, and a
// replaying tapedeck needs none (the value `tapedeck exec` uses, tools/child_process.h).
const PLACEHOLDER_KEY = 'tapedeck-placeholder-key';
const KEY_VARIABLES = ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY'];
const MAX_NAME_BYTES = 200;  // tapedeck's kMaxCassetteNameBytes
const TAIL_LINES = 40;       // stderr lines kept for error messages
const EXIT_MEANINGS = {
  1: 'strict replay found a miss or an unused interaction',
  2: 'a bad flag or setting',
  3: 'a cassette could not be read or written',
  4: 'an upstream is unreachable',
  5: 'the listen address cannot be bound',
};

// An error from this package; `stderr` holds tapedeck's last log lines when they explain it,
// `stats` the cassette's verdict for a cassette problem.
export class TapedeckError extends Error {
  constructor(message, { stderr, stats, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TapedeckError';
    if (stderr !== undefined) this.stderr = stderr;
    if (stats !== undefined) this.stats = stats;
  }
}

// ---------------------------------------------------------------------------------------------
// Starting and stopping tapedeck.

const running = new Set();  // children not yet exited: sent SIGTERM if this process exits first
let exitHookInstalled = false;

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // SIGTERM (not SIGKILL): a recording tapedeck still commits its cassettes when it stops.
  process.on('exit', () => {
    for (const child of running) child.kill('SIGTERM');
  });
}

// The mode from the option, else TAPEDECK_MODE, else replay (so CI never calls out).
function chooseMode(mode) {
  const chosen = mode ?? (process.env.TAPEDECK_MODE || 'replay');
  if (!MODES.includes(chosen)) {
    const from = mode === undefined ? 'TAPEDECK_MODE' : 'the mode option';
    throw new TapedeckError(`tapedeck: ${from} is ${JSON.stringify(chosen)}: expected ` +
      `${MODES.join(', ')}`);
  }
  return chosen;
}

// `--upstream` values from { name: url }, [ 'name=url', ... ] or 'name=url'.
function upstreamArgs(upstreams) {
  let list;
  if (typeof upstreams === 'string') {
    list = [upstreams];
  } else if (Array.isArray(upstreams)) {
    list = upstreams.map(String);
  } else if (upstreams && typeof upstreams === 'object') {
    list = Object.entries(upstreams).map(([name, url]) => `${name}=${url}`);
  } else {
    throw new TapedeckError('tapedeck: upstreams: expected { name: url }, [\'name=url\', ...] ' +
      'or \'name=url\'');
  }
  return list.flatMap((u) => ['--upstream', u]);
}

// The environment of the tapedeck child: this process's, less every TAPEDECK_* variable
// (tapedeck would read them as flags; what this package understands it passes as flags).
function childEnvironment(extra) {
  const env = {};
  for (const [k, v] of Object.entries({ ...process.env, ...extra })) {
    if (!k.startsWith('TAPEDECK_') && v !== undefined) env[k] = v;
  }
  return env;
}

// A stderr line as it reads best in an error: a JSON log line as "level: msg".
function shownLine(line) {
  if (!line.startsWith('{')) return line;
  try {
    const j = JSON.parse(line);
    if (typeof j.msg === 'string') return `${j.level ?? 'log'}: ${j.msg}`;
  } catch {
    // not JSON after all: shown as it is
  }
  return line;
}

function exitText(code, signal) {
  if (signal) return `was killed by ${signal}`;
  const meaning = EXIT_MEANINGS[code];
  return `exited with status ${code}${meaning ? ` (${meaning})` : ''}`;
}

// The upstreams of TAPEDECK_UPSTREAM: a JSON array, or values separated by commas.
function upstreamsFromEnvironment() {
  const value = process.env.TAPEDECK_UPSTREAM?.trim();
  if (!value) return undefined;
  if (!value.startsWith('[')) return value.split(',').map((u) => u.trim()).filter(Boolean);
  let list;
  try {
    list = JSON.parse(value);
  } catch {
    list = undefined;
  }
  if (!Array.isArray(list) || !list.every((u) => typeof u === 'string')) {
    throw new TapedeckError('tapedeck: TAPEDECK_UPSTREAM: expected a JSON array of strings or ' +
      'NAME=URL values separated by commas');
  }
  return list;
}

// Starts `tapedeck MODE --cassette-dir DIR --listen 127.0.0.1:0 --log-format json ...` and
// resolves once it listens. See index.d.ts for the options and the returned server.
export async function startTapedeck(options = {}) {
  const {
    cassetteDir = process.env.TAPEDECK_CASSETTE_DIR || 'tests/cassettes',
    upstreams,
    bin = process.env.TAPEDECK_BIN || 'tapedeck',
    args = [],
    listen = '127.0.0.1:0',
    timing = 'instant',
    overwrite,
    env,
    log,
    stopTimeoutMs = 15_000,
  } = options;
  const mode = chooseMode(options.mode);
  // record and auto first connect to each upstream (10 s --connect-timeout each).
  const startTimeoutMs = options.startTimeoutMs ?? (mode === 'replay' ? 10_000 : 60_000);
  const dir = resolvePath(cassetteDir);
  const argv = [mode, '--cassette-dir', dir, '--listen', listen, '--log-format', 'json'];
  if (mode !== 'record' && timing !== undefined && timing !== null) {
    argv.push('--timing', String(timing));
  }
  if (mode !== 'replay') {
    argv.push(...upstreamArgs(upstreams ?? upstreamsFromEnvironment() ?? DEFAULT_UPSTREAMS));
  }
  if (mode === 'record' && (overwrite ?? true)) argv.push('--overwrite');
  argv.push(...args.map(String));
  const what = `tapedeck ${mode}`;

  installExitHook();
  const child = spawn(bin, argv, {
    env: childEnvironment(env),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);

  const tail = [];
  let partial = '';
  let listeningUrl;
  let onListening;
  const exited = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const stderrTail = () => tail.map(shownLine).join('\n');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      if (line.length === 0) continue;
      tail.push(line.length > 4000 ? `${line.slice(0, 4000)}...` : line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (typeof log === 'function') log(line);
      else if (log) process.stderr.write(`${line}\n`);
      if (listeningUrl === undefined && line.includes('"listening"')) {
        try {
          const j = JSON.parse(line);
          if (j.event === 'listening' && typeof j.url === 'string') {
            listeningUrl = j.url;
            onListening?.(j.url);
          }
        } catch {
          // a line that only mentions "listening"
        }
      }
    }
  });

  let timer;
  const started = new Promise((resolve, reject) => {
    onListening = resolve;
    child.once('error', (err) => {
      running.delete(child);
      const why = { ENOENT: 'no such program', EACCES: 'not an executable file' }[err.code] ??
        err.message;
      reject(new TapedeckError(`${what}: cannot start ${bin}: ${why} (give the tapedeck ` +
        'binary as the bin option or in TAPEDECK_BIN, or put tapedeck on PATH)', { cause: err }));
    });
    exited.then(({ code, signal }) => reject(new TapedeckError(
      `${what}: ${bin} ${exitText(code, signal)} before it listened; its last lines:\n` +
      `${stderrTail() || '(no output)'}`, { stderr: stderrTail() })));
    timer = setTimeout(() => reject(new TapedeckError(
      `${what}: ${bin} printed no listening line within ${startTimeoutMs} ms; its last lines:\n` +
      `${stderrTail() || '(no output)'}`, { stderr: stderrTail() })), startTimeoutMs);
  });
  let url;
  try {
    url = await started;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
  // Running tapedeck must not keep this process alive; stop() holds it until tapedeck exits.
  child.unref();
  child.stderr.unref?.();

  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      child.ref();
      child.stderr.ref?.();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let killTimer;
      const late = new Promise((resolve) => {
        killTimer = setTimeout(() => resolve('late'), stopTimeoutMs);
      });
      const outcome = await Promise.race([exited, late]);
      clearTimeout(killTimer);
      if (outcome === 'late') {
        child.kill('SIGKILL');
        await exited;
        throw new TapedeckError(`${what}: did not stop within ${stopTimeoutMs} ms of SIGTERM ` +
          `and was killed; its last lines:\n${stderrTail()}`, { stderr: stderrTail() });
      }
      const { code, signal } = outcome;
      if (code !== 0) {
        throw new TapedeckError(`${what} ${exitText(code, signal)}; its last lines:\n` +
          `${stderrTail() || '(no output)'}`, { stderr: stderrTail() });
      }
    })();
    return stopping;
  };

  return {
    url,
    mode,
    cassetteDir: dir,
    pid: child.pid,
    stop,
    stderr: stderrTail,
    cassetteUrl: (name, provider) => cassetteUrl(name, provider, { url }),
    useCassette: (name, opts) => useCassette(name, { ...opts, url, mode }),
    withCassette: (name, fn, opts) => withCassette(name, fn, { ...opts, url, mode }),
  };
}

// For a global setup: starts tapedeck and publishes its address in TAPEDECK_URL, and its mode in
// TAPEDECK_MODE, for the test workers (which inherit them, as they start later). Resolves to the
// teardown, which stops it and puts both back. When TAPEDECK_URL is already set, uses that
// tapedeck and starts none.
export async function setupTapedeck(options = {}) {
  if (process.env[URL_VARIABLE]) return async () => {};
  const server = await startTapedeck(options);
  const savedMode = process.env.TAPEDECK_MODE;
  process.env[URL_VARIABLE] = server.url;
  process.env.TAPEDECK_MODE = server.mode;
  return async () => {
    delete process.env[URL_VARIABLE];
    if (savedMode === undefined) delete process.env.TAPEDECK_MODE;
    else process.env.TAPEDECK_MODE = savedMode;
    await server.stop();
  };
}

// ---------------------------------------------------------------------------------------------
// Cassette names and URLs.

// Why `name` is not a cassette name (tapedeck's own rule), or null.
function nameProblem(name) {
  if (typeof name !== 'string') return 'is not a string';
  if (name.length === 0) return 'is empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    return `is longer than ${MAX_NAME_BYTES} bytes`;
  }
  if (name.startsWith('/')) return 'must be relative (no leading \'/\')';
  if (name.endsWith('/')) return 'ends with \'/\'';
  for (const segment of name.split('/')) {
    if (segment.length === 0) return 'has an empty segment ("//")';
    if (segment === '.' || segment === '..') return 'has a "." or ".." segment';
    if (!/^[A-Za-z0-9._-]+$/.test(segment)) {
      return 'may hold only letters, digits, \'.\', \'_\', \'-\' and \'/\'';
    }
  }
  return null;
}

function checkName(name) {
  const problem = nameProblem(name);
  if (problem) {
    throw new TapedeckError(`tapedeck: cassette name ${JSON.stringify(name)} ${problem} ` +
      '(cassetteName() makes a valid one from any text)');
  }
}

// FNV-1a, 32 bits, as 8 hex digits: tells apart long names cut to the same prefix.
function fingerprint(text) {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

// One path segment from any text: each run of other characters becomes '_'.
function segmentOf(part) {
  const text = String(part).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');
  return text === '' || text === '.' || text === '..' ? '_' : text;
}

// A valid cassette name from any texts: each part becomes one segment (a folder level).
export function cassetteName(...parts) {
  const flat = parts.flat(Infinity).filter((p) => p !== undefined && p !== null && p !== '');
  if (flat.length === 0) throw new TapedeckError('tapedeck: cassetteName() needs a part');
  let name = flat.map(segmentOf).join('/');
  if (name.length > MAX_NAME_BYTES) {
    // Cut, then tell apart the names that share the cut: "<first 191 bytes>-<fnv32>".
    name = `${name.slice(0, MAX_NAME_BYTES - 9).replace(/\/+$/, '')}-${fingerprint(name)}`;
  }
  return name;
}

// A cassette name for the running test of vitest or jest from `expect.getState()`:
// "<test file without extension>/<test name>" (vitest joins describe and test with " > ").
export function testCassetteName(state) {
  const { testPath, currentTestName } = state ?? {};
  if (!currentTestName) {
    throw new TapedeckError('tapedeck: testCassetteName(expect.getState()) works inside a ' +
      'test or a beforeEach/afterEach hook only');
  }
  if (!testPath) return cassetteName(currentTestName);
  return cassetteName(basename(testPath).replace(/\.[cm]?[jt]sx?$/, ''), currentTestName);
}

// tapedeck's address: the url option, else TAPEDECK_URL.
export function tapedeckUrl(url) {
  const found = url ?? process.env[URL_VARIABLE];
  if (!found) {
    throw new TapedeckError(`tapedeck: ${URL_VARIABLE} is not set: start tapedeck in the ` +
      'global setup (tapedeck/vitest, tapedeck/jest/global-setup) or with startTapedeck(), ' +
      'and pass its url');
  }
  return found.replace(/\/+$/, '');
}

// The base URL that selects cassette `name` for `provider` (anthropic, openai or gemini).
export function cassetteUrl(name, provider, { url } = {}) {
  checkName(name);
  const prefix = `${tapedeckUrl(url)}/cassette/${encodeURIComponent(name)}`;
  if (provider === undefined) return prefix;
  if (!Object.hasOwn(MOUNT_PATHS, provider)) {
    throw new TapedeckError(`tapedeck: provider ${JSON.stringify(provider)}: expected ` +
      `${Object.keys(MOUNT_PATHS).join(', ')}`);
  }
  return prefix + MOUNT_PATHS[provider];
}

// ---------------------------------------------------------------------------------------------
// A test's verdict.

function getJson(target, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get(target, { timeout: timeoutMs }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          reject(new Error(`status ${res.statusCode}, not JSON: ${text.slice(0, 200)}`));
          return;
        }
        if (res.statusCode !== 200) {
          reject(new Error(`status ${res.statusCode}: ${body.error ?? text.slice(0, 200)}`));
          return;
        }
        resolve(body);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

// What tapedeck says of cassette `name`: GET /__tapedeck/stats/NAME.
export async function cassetteStats(name, { url, unused = 'ok', timeoutMs = 10_000 } = {}) {
  checkName(name);
  if (unused !== 'ok' && unused !== 'fail') {
    throw new TapedeckError(`tapedeck: unused is ${JSON.stringify(unused)}: expected ok or fail`);
  }
  const base = tapedeckUrl(url);
  const target = `${base}/__tapedeck/stats/${encodeURIComponent(name)}` +
    (unused === 'fail' ? '?unused=fail' : '');
  try {
    return await getJson(target, timeoutMs);
  } catch (err) {
    throw new TapedeckError(`tapedeck: asking ${base} about cassette ${name} failed: ` +
      `${err.message} (is tapedeck still running?)`, { cause: err });
  }
}

// The error a problem verdict becomes: the problem, then each recent miss on its own line.
function problemError(stats, cause) {
  const lines = [`tapedeck: ${stats.problem}`];
  if (stats.state === 'failed' && stats.reason && !stats.problem.includes(stats.reason)) {
    lines.push(`  ${stats.reason}`);
  }
  for (const miss of stats.counts?.recent_misses ?? []) lines.push(`  ${miss}`);
  if (cause !== undefined) lines.push(`  (the test threw too: ${cause?.message ?? cause})`);
  return new TapedeckError(lines.join('\n'), { stats, cause });
}

// Throws a TapedeckError carrying the problem and the recent misses when tapedeck has a
// problem with cassette `name`; resolves to its stats otherwise.
export async function checkCassette(name, options = {}) {
  const stats = await cassetteStats(name, options);
  if (stats.problem) throw problemError(stats);
  return stats;
}

// Points this process's SDK variables at cassette `name` until done() or restore(); in replay,
// also gives each unset key variable a placeholder.
export function useCassette(name, options = {}) {
  const { url, setEnv = true, unused = 'ok', placeholderKeys = true } = options;
  checkName(name);
  const mode = chooseMode(options.mode);
  const base = tapedeckUrl(url);
  const urls = {
    anthropic: cassetteUrl(name, 'anthropic', { url: base }),
    openai: cassetteUrl(name, 'openai', { url: base }),
    gemini: cassetteUrl(name, 'gemini', { url: base }),
  };
  const env = {};
  for (const [provider, variable] of Object.entries(BASE_URL_VARIABLES)) {
    env[variable] = urls[provider];
  }
  let saved;
  if (setEnv) {
    saved = {};
    const set = (variable, value) => {
      saved[variable] = process.env[variable];
      process.env[variable] = value;
    };
    for (const [variable, value] of Object.entries(env)) set(variable, value);
    if (mode === 'replay' && placeholderKeys) {
      for (const variable of KEY_VARIABLES) {
        if (!process.env[variable]) set(variable, PLACEHOLDER_KEY);
      }
    }
  }
  const restore = () => {
    if (!saved) return;
    for (const [variable, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[variable];
      else process.env[variable] = value;
    }
    saved = undefined;
  };
  return {
    name,
    url: cassetteUrl(name, undefined, { url: base }),
    ...urls,
    env,
    restore,
    stats: () => cassetteStats(name, { url: base, unused }),
    done: async () => {
      restore();
      await checkCassette(name, { url: base, unused });
    },
  };
}

// Runs fn(handle) with cassette `name` in use, then checks the cassette. When both fail, the
// cassette's problem is thrown with fn's error as its cause (a miss explains most failures).
export async function withCassette(name, fn, options = {}) {
  const handle = useCassette(name, options);
  let result;
  try {
    result = await fn(handle);
  } catch (err) {
    handle.restore();
    let stats;
    try {
      stats = await handle.stats();
    } catch {
      throw err;
    }
    if (!stats.problem) throw err;
    throw problemError(stats, err);
  }
  await handle.done();
  return result;
}
