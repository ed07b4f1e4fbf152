// The sample suite under node:test: one tapedeck for the file (started from the environment the
// driver gives: TAPEDECK_MODE, TAPEDECK_CASSETTE_DIR, ...), a cassette per test named from the
// test's title, and each test's cassette checked in afterEach.
import { after, afterEach, before, beforeEach, test } from 'node:test';

import { cassetteName, startTapedeck } from 'tapedeck';

import { SCENARIOS, runScenario } from './scenarios.js';

let tapedeck;
let cassette;
before(async () => {
  tapedeck = await startTapedeck();
});
after(() => tapedeck?.stop());
beforeEach((t) => {
  cassette = tapedeck.useCassette(cassetteName('node-suite', t.name));
});
afterEach(() => cassette.done());

for (const title of Object.keys(SCENARIOS)) {
  test(title, async () => {
    await runScenario(title, cassette.name);
  });
}
