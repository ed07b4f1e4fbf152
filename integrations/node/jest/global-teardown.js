// jest's globalTeardown: stops the tapedeck of tapedeck/jest/global-setup. In jest.config:
// `globalTeardown: 'tapedeck/jest/global-teardown'` (docs/node.md).
import { TEARDOWN } from './global-setup.js';

// Rejects with tapedeck's last log lines if it exits non-zero (a cassette not written).
export default async function globalTeardown() {
  const stop = globalThis[TEARDOWN];
  delete globalThis[TEARDOWN];
  await stop?.();
}
