"""Streams a haiku with the official Anthropic Python SDK.

The SDK finds tapedeck through ANTHROPIC_BASE_URL and needs a key, any placeholder, in
ANTHROPIC_API_KEY; `tapedeck exec` sets both.
"""
import anthropic

client = anthropic.Anthropic()  # reads ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY
with client.messages.stream(
    model="claude-sonnet-4-5",
    max_tokens=256,
    messages=[{"role": "user", "content": "Write a haiku about tape decks."}],
) as stream:
    for text in stream.text_stream:
        print(text, end="", flush=True)
    message = stream.get_final_message()
print(f"\n[stop_reason={message.stop_reason} output_tokens={message.usage.output_tokens}]")
