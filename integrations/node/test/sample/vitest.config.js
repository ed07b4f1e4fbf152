// The sample suite's vitest config: one tapedeck for the run (tapedeck/vitest), set up from the
// environment the driver gives (TAPEDECK_MODE, TAPEDECK_CASSETTE_DIR, ...).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['vitest-suite.test.js'],
    globalSetup: ['tapedeck/vitest'],
  },
});
