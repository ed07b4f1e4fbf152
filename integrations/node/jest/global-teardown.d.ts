// Types of tapedeck/jest/global-teardown.

/** Stops the tapedeck of tapedeck/jest/global-setup. */
export default function globalTeardown(): Promise<void>;
