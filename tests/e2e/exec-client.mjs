// The child that `tapedeck exec` runs in the e2e suite: builds the SDK clients from the
// environment alone (base URLs and keys as exec sets them), runs one scenario and prints
// { transcript, env } as JSON on stdout. Usage: node exec-client.mjs SCENARIO
import { EXEC_SCENARIOS, SCENARIOS } from './scenarios.mjs';

const name = process.argv[2];
const scenario = SCENARIOS[name] ?? EXEC_SCENARIOS[name];
if (!scenario) {
  process.stderr.write(`exec-client: unknown scenario ${JSON.stringify(name)}\n`);
  process.exit(64);
}
const env = {
  ANTHROPIC_BASE_URL: process.env.ANTHROPIC_BASE_URL ?? null,
  OPENAI_BASE_URL: process.env.OPENAI_BASE_URL ?? null,
  GOOGLE_GEMINI_BASE_URL: process.env.GOOGLE_GEMINI_BASE_URL ?? null,
  ANTHROPIC_API_KEY: process.env.ANTHROPIC_API_KEY ?? null,
  OPENAI_API_KEY: process.env.OPENAI_API_KEY ?? null,
};
const ctx = { phase: 'replay', fromEnv: true, baseURL: env.ANTHROPIC_BASE_URL };
const transcript = await scenario.run(ctx);
process.stdout.write(`${JSON.stringify({ transcript, env })}\n`);
