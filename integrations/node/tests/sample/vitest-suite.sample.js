// The sample suite under vitest: a cassette per test, named from the test file and title, and
// each test's cassette checked in afterEach (the global setup is tapedeck/vitest).
import { afterEach, beforeEach, expect, test } from 'vitest';

import { testCassetteName, useCassette } from 'tapedeck';

import { SCENARIOS, runScenario } from './scenarios.js';

let cassette;
beforeEach(() => {
  cassette = useCassette(testCassetteName(expect.getState()));
});
afterEach(async () => {
  await cassette.done();
});

for (const title of Object.keys(SCENARIOS)) {
  test(title, async () => {
    await runScenario(title, cassette.name);
  });
}
