// Streams a haiku with the official Anthropic TypeScript SDK. The SDK finds tapedeck through
// ANTHROPIC_BASE_URL and needs a key, any placeholder, in ANTHROPIC_API_KEY; `tapedeck exec`
// sets both.
import Anthropic from "@anthropic-ai/sdk";

const client = new Anthropic(); // reads ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY
const stream = client.messages.stream({
  model: "claude-sonnet-4-5",
  max_tokens: 256,
  messages: [{ role: "user", content: "Write a haiku about tape decks." }],
});
stream.on("text", (text) => process.stdout.write(text));
const message = await stream.finalMessage();
process.stdout.write(`\n[stop_reason=${message.stop_reason} output_tokens=${message.usage.output_tokens}]\n`);
