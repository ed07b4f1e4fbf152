// Types of the `tapedeck` package (index.js), written by hand. The guide is docs/node.md.

/** A provider whose SDK base URL a cassette URL can end in. */
export type Provider = 'anthropic' | 'openai' | 'gemini';

/** What tapedeck does with requests: replay serves cassettes and never calls out. */
export type Mode = 'replay' | 'record' | 'auto';

/** The variable the global setups publish tapedeck's address in: "TAPEDECK_URL". */
export declare const URL_VARIABLE: 'TAPEDECK_URL';

/** An error of this package. */
export declare class TapedeckError extends Error {
  name: 'TapedeckError';
  /** tapedeck's last log lines, when they explain the error. */
  stderr?: string;
  /** The cassette's verdict, for a cassette problem. */
  stats?: CassetteStats;
}

export interface StartOptions {
  /** Default: TAPEDECK_MODE, else 'replay'. */
  mode?: Mode;
  /** The cassette folder, resolved against the current directory. Default:
   *  TAPEDECK_CASSETTE_DIR, else 'tests/cassettes'. */
  cassetteDir?: string;
  /** record and auto: the upstreams to mount, as { anthropic: 'https://...' },
   *  ['anthropic=https://...'] or one 'name=url'. Default: TAPEDECK_UPSTREAM (a JSON array, one
   *  value or values separated by commas), else anthropic=https://api.anthropic.com,
   *  openai=https://api.openai.com and gemini=https://generativelanguage.googleapis.com.
   *  Ignored in replay, which reads the mounts from each cassette. */
  upstreams?: Record<string, string> | string[] | string;
  /** The tapedeck binary. Default: TAPEDECK_BIN, else `tapedeck` on PATH. */
  bin?: string;
  /** More tapedeck flags, after the ones this package passes (the last of a flag wins). */
  args?: string[];
  /** Default '127.0.0.1:0': a free port on loopback. */
  listen?: string;
  /** replay and auto: --timing. Default 'instant'; null leaves tapedeck's default. */
  timing?: string | number | null;
  /** record: replace cassettes that exist (--overwrite). Default true. */
  overwrite?: boolean;
  /** More variables for tapedeck's environment (TAPEDECK_* ones are dropped). */
  env?: Record<string, string | undefined>;
  /** Each line tapedeck logs: to this function, or to process.stderr when true. */
  log?: boolean | ((line: string) => void);
  /** How long tapedeck may take to listen. Default 10000 in replay; 60000 in record and auto,
   *  where tapedeck first connects to each upstream. */
  startTimeoutMs?: number;
  /** How long tapedeck may take to exit after SIGTERM before it is killed. Default 15000. */
  stopTimeoutMs?: number;
}

export interface CassetteOptions {
  /** tapedeck's address. Default: TAPEDECK_URL. */
  url?: string;
  /** 'fail' also makes interactions the test did not use a problem. Default 'ok'. */
  unused?: 'ok' | 'fail';
}

export interface UseCassetteOptions extends CassetteOptions {
  /** Set ANTHROPIC_BASE_URL, OPENAI_BASE_URL and GOOGLE_GEMINI_BASE_URL. Default true. */
  setEnv?: boolean;
  /** The mode tapedeck runs in. Default: TAPEDECK_MODE (the global setups set it), else
   *  'replay'. */
  mode?: Mode;
  /** In replay (and with setEnv), give ANTHROPIC_API_KEY and OPENAI_API_KEY the value
   *  "tapedeck-placeholder-key" while they are unset or empty, as `tapedeck exec` does: the SDKs
   *  refuse to start without a key. Default true. */
  placeholderKeys?: boolean;
}

/** A running tapedeck. */
export interface Tapedeck {
  /** Its address, e.g. "http://127.0.0.1:40123". */
  readonly url: string;
  readonly mode: Mode;
  /** The cassette folder, absolute. */
  readonly cassetteDir: string;
  readonly pid: number;
  /** Sends SIGTERM and resolves when tapedeck exits 0 (record and auto have then written their
   *  cassettes); rejects with the exit status and its last log lines otherwise. Idempotent. */
  stop(): Promise<void>;
  /** tapedeck's last log lines. */
  stderr(): string;
  cassetteUrl(name: string, provider?: Provider): string;
  useCassette(name: string, options?: Omit<UseCassetteOptions, 'url' | 'mode'>): CassetteHandle;
  withCassette<T>(name: string, fn: (cassette: CassetteHandle) => T | Promise<T>,
    options?: Omit<UseCassetteOptions, 'url' | 'mode'>): Promise<T>;
}

/** GET /__tapedeck/stats/NAME: what tapedeck says of one cassette. */
export interface CassetteStats {
  cassette: string;
  state: 'untouched' | 'ready' | 'failed';
  /** What --strict would refuse for this cassette, in one sentence; null when nothing. */
  problem: string | null;
  counts?: {
    hits?: number;
    misses?: number;
    /** tapedeck's message for each recent miss, naming where the request differs. */
    recent_misses?: string[];
    [key: string]: unknown;
  };
  /** Why the cassette could not be used (state 'failed'). */
  reason?: string;
}

/** A test's cassette: its base URLs, and its verdict when the test ends. */
export interface CassetteHandle {
  readonly name: string;
  /** The cassette's prefix, http://H:P/cassette/NAME (NAME percent-encoded). */
  readonly url: string;
  readonly anthropic: string;
  readonly openai: string;
  readonly gemini: string;
  /** The variables useCassette sets (or would set, with setEnv false). */
  readonly env: {
    ANTHROPIC_BASE_URL: string;
    OPENAI_BASE_URL: string;
    GOOGLE_GEMINI_BASE_URL: string;
  };
  /** Puts the variables (and any placeholder key) back as they were. Idempotent. */
  restore(): void;
  stats(): Promise<CassetteStats>;
  /** restore(), then rejects with a TapedeckError carrying the problem and the recent miss
   *  messages when tapedeck has a problem with this cassette. For afterEach. */
  done(): Promise<void>;
}

/** Starts tapedeck on a cassette folder and resolves once it listens. */
export function startTapedeck(options?: StartOptions): Promise<Tapedeck>;

/** For a global setup: starts tapedeck, sets TAPEDECK_URL and TAPEDECK_MODE (the mode in force)
 *  for the workers, and resolves to the teardown, which stops it and puts both back. With
 *  TAPEDECK_URL already set, starts nothing and uses that tapedeck. */
export function setupTapedeck(options?: StartOptions): Promise<() => Promise<void>>;

/** A valid cassette name from any texts, one segment (folder level) per part. */
export function cassetteName(...parts: Array<string | number | string[]>): string;

/** "<file without extension>/<test name>" from vitest's or jest's `expect.getState()`. */
export function testCassetteName(state: { testPath?: string; currentTestName?: string }): string;

/** tapedeck's address: `url`, else TAPEDECK_URL; throws when neither is set. */
export function tapedeckUrl(url?: string): string;

/** The base URL that selects cassette `name`, for `provider` (or the bare prefix). */
export function cassetteUrl(name: string, provider?: Provider, options?: { url?: string }): string;

/** GET /__tapedeck/stats/NAME. */
export function cassetteStats(name: string,
  options?: CassetteOptions & { timeoutMs?: number }): Promise<CassetteStats>;

/** Rejects with a TapedeckError (the problem, then each recent miss) when the cassette has a
 *  problem; resolves to its stats otherwise. */
export function checkCassette(name: string,
  options?: CassetteOptions & { timeoutMs?: number }): Promise<CassetteStats>;

/** Points this process's SDK base URL variables at cassette `name` until done() or restore();
 *  in replay, also gives unset key variables a placeholder. */
export function useCassette(name: string, options?: UseCassetteOptions): CassetteHandle;

/** Runs fn with cassette `name` in use, then checks it. When both fail, rejects with the
 *  cassette's problem, fn's error as its cause. */
export function withCassette<T>(name: string, fn: (cassette: CassetteHandle) => T | Promise<T>,
  options?: UseCassetteOptions): Promise<T>;
