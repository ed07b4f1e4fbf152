// vitest's globalSetup: one tapedeck for the whole run, its address in TAPEDECK_URL for the test
// workers. In vitest.config: `test: { globalSetup: ['tapedeck/vitest'] }` (docs/node.md).
import { setupTapedeck } from './index.js';

let teardownTapedeck;

// Starts tapedeck with the settings of the environment (TAPEDECK_MODE, TAPEDECK_CASSETTE_DIR,
// TAPEDECK_UPSTREAM, TAPEDECK_BIN) before any worker starts.
export async function setup() {
  teardownTapedeck = await setupTapedeck();
}

// Stops it once every test file has run; rejects with tapedeck's last lines if it failed.
export async function teardown() {
  const stop = teardownTapedeck;
  teardownTapedeck = undefined;
  await stop?.();
}
