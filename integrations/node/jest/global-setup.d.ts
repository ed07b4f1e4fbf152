// Types of tapedeck/jest/global-setup.

/** Starts one tapedeck for the run and sets TAPEDECK_URL for the test workers. */
export default function globalSetup(): Promise<void>;
/** Where the teardown finds the running tapedeck (a key of globalThis). */
export const TEARDOWN: unique symbol;
