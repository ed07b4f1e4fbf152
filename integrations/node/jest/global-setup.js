// jest's globalSetup: one tapedeck for the whole run, its address in TAPEDECK_URL for the test
// workers. In jest.config: `globalSetup: 'tapedeck/jest/global-setup'` (docs/node.md).
import { setupTapedeck } from '../index.js';

// Where the teardown finds the running tapedeck: jest runs both hooks in one process, and keeps
// globalThis between them.
export const TEARDOWN = Symbol.for('tapedeck.jest.teardown');

// Starts tapedeck with the settings of the environment (TAPEDECK_MODE, TAPEDECK_CASSETTE_DIR,
// TAPEDECK_UPSTREAM, TAPEDECK_BIN) before any worker starts.
export default async function globalSetup() {
  globalThis[TEARDOWN] = await setupTapedeck();
}
