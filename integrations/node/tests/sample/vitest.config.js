// The sample suite's vitest config: one tapedeck for the run (tapedeck/vitest), set up from the
// environment the driver gives (TAPEDECK_MODE, TAPEDECK_CASSETTE_DIR, ...). vite's cache goes to
// SAMPLE_CACHE_DIR (the driver's temporary folder), not into the source tree.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defineConfig } from 'vitest/config';

export default defineConfig({
  cacheDir: process.env.SAMPLE_CACHE_DIR || join(tmpdir(), 'tapedeck-node-sample-vite'),
  test: {
    include: ['vitest-suite.sample.js'],
    globalSetup: ['tapedeck/vitest'],
  },
});
