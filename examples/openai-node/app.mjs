// Streams a chat completion with the official OpenAI SDK. The SDK finds tapedeck through
// OPENAI_BASE_URL (which must end in /v1) and needs a key, any placeholder, in OPENAI_API_KEY;
// `tapedeck exec` sets both.
import OpenAI from "openai";

const client = new OpenAI(); // reads OPENAI_BASE_URL and OPENAI_API_KEY
const stream = await client.chat.completions.create({
  model: "gpt-4o-mini",
  stream: true,
  messages: [{ role: "user", content: "Say hello in three words." }],
});
let finish = null;
for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? "");
  finish = chunk.choices[0]?.finish_reason ?? finish;
}
process.stdout.write(`\n[finish_reason=${finish}]\n`);
