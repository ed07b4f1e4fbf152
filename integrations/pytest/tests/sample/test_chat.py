"""A sample suite: Anthropic- and OpenAI-shaped calls, streamed and not, each test with its own
tapedeck cassette (the `tapedeck` fixture through the clients, or the marker). The driver tests
(../test_plugin.py) record it against a scripted fake API and replay it without one."""

import json
import os

import httpx
import pytest

MODEL = "claude-e2e-sonnet-1"
GPT = "gpt-e2e-1"
TOOLS = [{
    "name": "get_weather",
    "description": "The weather at a place.",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
}]
SECOND_TURN = True  # the driver turns this off to leave a recorded interaction unused


def sse_events(response):
    """The `data:` payloads of a server-sent-events response, parsed, as they arrive."""
    for line in response.iter_lines():
        line = line.rstrip("\r\n")  # httpx before 0.24 keeps the line ending
        if line.startswith("data: ") and line != "data: [DONE]":
            yield json.loads(line[len("data: "):])


def message(client, prompt, **extra):
    response = client.post("/v1/messages", json={
        "model": MODEL, "max_tokens": 256,
        "messages": [{"role": "user", "content": prompt}], **extra})
    response.raise_for_status()
    return response.json()


def text_of(msg):
    return "".join(block["text"] for block in msg["content"] if block["type"] == "text")


def test_anthropic_message(anthropic, save_answer):
    msg = message(anthropic, "Name three parts of a tape deck.")
    assert msg["stop_reason"] == "end_turn"
    assert "The deck answers" in text_of(msg)
    save_answer(msg)


def test_anthropic_stream(anthropic, save_answer):
    body = {"model": MODEL, "max_tokens": 256, "stream": True,
            "messages": [{"role": "user", "content": "Stream me a short answer."}]}
    text, kinds = "", []
    with anthropic.stream("POST", "/v1/messages", json=body) as response:
        response.raise_for_status()
        for event in sse_events(response):
            kinds.append(event["type"])
            if event["type"] == "content_block_delta":
                text += event["delta"]["text"]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "Grüße ☕" in text
    save_answer({"text": text, "events": kinds})


def test_anthropic_tool_use(anthropic, save_answer):
    msg = message(anthropic, "What is the weather in Lisbon?", tools=TOOLS)
    assert msg["stop_reason"] == "tool_use"
    tool = next(block for block in msg["content"] if block["type"] == "tool_use")
    assert tool["input"]["location"] == "Lisbon"
    save_answer(msg)


def test_anthropic_two_turns(anthropic, save_answer):
    first = message(anthropic, "What is the weather in Oslo?", tools=TOOLS)
    tool = next(block for block in first["content"] if block["type"] == "tool_use")
    answers = [first]
    if SECOND_TURN:
        second = anthropic.post("/v1/messages", json={
            "model": MODEL, "max_tokens": 256, "tools": TOOLS, "messages": [
                {"role": "user", "content": "What is the weather in Oslo?"},
                {"role": "assistant", "content": first["content"]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool["id"],
                                              "content": "light snow, -3 C"}]},
            ]})
        second.raise_for_status()
        assert "light snow" in text_of(second.json())
        answers.append(second.json())
    save_answer(answers)


def test_anthropic_models(anthropic, save_answer):
    response = anthropic.get("/v1/models", params={"limit": 2})
    response.raise_for_status()
    page = response.json()
    assert len(page["data"]) == 2 and page["has_more"]
    save_answer(page)


@pytest.mark.tapedeck(cassette="shared/count-tokens")
def test_anthropic_count_tokens(anthropic, save_answer):
    response = anthropic.post("/v1/messages/count_tokens", json={
        "model": MODEL, "messages": [{"role": "user", "content": "How many tokens is this?"}]})
    response.raise_for_status()
    assert response.json()["input_tokens"] > 0
    save_answer(response.json())


@pytest.mark.parametrize("prompt", ["Say hello.", "Say hello to the tape deck."],
                         ids=["hello", "tape deck"])
def test_anthropic_prompts(anthropic, save_answer, prompt):
    msg = message(anthropic, prompt)
    assert prompt[:20] in text_of(msg)
    save_answer(msg)


def chat(client, content, **extra):
    response = client.post("/chat/completions", json={
        "model": GPT, "messages": [{"role": "user", "content": content}], **extra})
    response.raise_for_status()
    return response.json()


def test_openai_chat(openai, save_answer):
    completion = chat(openai, "Name one kind of tape.")
    assert completion["choices"][0]["finish_reason"] == "stop"
    save_answer(completion)


def test_openai_chat_stream(openai, save_answer):
    body = {"model": GPT, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "Stream a line about reels."}]}
    text, usage = "", None
    with openai.stream("POST", "/chat/completions", json=body) as response:
        response.raise_for_status()
        for chunk in sse_events(response):
            for choice in chunk["choices"]:
                text += choice["delta"].get("content") or ""
            usage = chunk.get("usage") or usage
    assert "The deck answers" in text and usage["total_tokens"] > 0
    save_answer({"text": text, "usage": usage})


@pytest.mark.tapedeck
class TestOpenAIWithMarker:
    # The marker alone sets the base URLs: this test builds its client from them itself.
    def test_system_prompt(self, save_answer):
        with httpx.Client(base_url=os.environ["OPENAI_BASE_URL"], headers={
                "authorization": "Bearer " + os.environ["OPENAI_API_KEY"]}) as client:
            completion = chat(client, "Describe a cassette.", temperature=0)
        assert completion["object"] == "chat.completion"
        save_answer(completion)


def test_both_providers(anthropic, openai, tapedeck, save_answer):
    # One cassette, two mounts: each request goes to its provider's upstream.
    assert tapedeck.anthropic_base_url.endswith("/anthropic")
    msg = message(anthropic, "Which side is side B?")
    completion = chat(openai, "Which side is side A?")
    assert "side B" in text_of(msg)
    assert "side A" in completion["choices"][0]["message"]["content"]
    save_answer([msg, completion])
