// Types of tapedeck/vitest: vitest's globalSetup entry points.

/** Starts one tapedeck for the run and sets TAPEDECK_URL for the test workers. */
export function setup(): Promise<void>;
/** Stops it; rejects with tapedeck's last log lines when it exits non-zero. */
export function teardown(): Promise<void>;
