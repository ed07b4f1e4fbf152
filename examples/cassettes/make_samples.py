#!/usr/bin/env python3
"""Writes the sample cassettes in this folder (hand-written content, no real account).

Run from anywhere: python3 examples/cassettes/make_samples.py
The output is canonical cassette JSON Lines (docs/cassette-format.md), version 1.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CREATED = "2026-11-21T09:00:00.000000Z"


def dump(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def sse(event, data):
    return f"event: {event}\ndata: {dump(data)}\n\n"


def anthropic_stream(msg_id, model, text_pieces, start_us, gap_us, input_tokens):
    out_tokens = len(text_pieces) + 2
    events = [
        sse("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
        sse("content_block_start", {"type": "content_block_start", "index": 0,
                                    "content_block": {"type": "text", "text": ""}}),
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
    ]
    for piece in text_pieces:
        events.append(sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                  "delta": {"type": "text_delta", "text": piece}}))
    events += [
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse("message_delta", {"type": "message_delta",
                              "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                              "usage": {"output_tokens": out_tokens}}),
        sse("message_stop", {"type": "message_stop"}),
    ]
    t = start_us
    stamped = []
    for i, e in enumerate(events):
        stamped.append({"at_us": t, "data": e})
        t += gap_us if i >= 2 else 2000
    return stamped, t


def hello_anthropic():
    model = "claude-sonnet-4-5"
    body = {"model": model, "max_tokens": 256, "stream": True,
            "messages": [{"role": "user", "content": "Write a haiku about tape decks."}]}
    pieces = ["Magnetic ", "ribbon ", "turns,\n", "yesterday's ", "voices ", "replay\n",
              "same ", "words, ", "same ", "pauses."]
    events, done = anthropic_stream("msg_01SampleHaikuTapeDeck0001", model, pieces, 180000,
                                    45000, 16)
    return {
        "seq": 0, "recorded_at": "2026-11-21T09:00:01.000000Z",
        "request": {"method": "POST", "path": "/v1/messages",
                    "headers": [["content-type", "application/json"],
                                ["anthropic-version", "2023-06-01"],
                                ["x-api-key", "[REDACTED]"]],
                    "body": {"json": body}},
        "response": {"status": 200,
                     "headers": [["content-type", "text/event-stream; charset=utf-8"],
                                 ["cache-control", "no-cache"],
                                 ["request-id", "req_01SampleHaiku0001"],
                                 ["date", "Sat, 21 Nov 2026 09:00:01 GMT"]],
                     "stream": {"kind": "sse", "events": events}},
        "timing": {"headers_us": 178000, "done_us": done},
    }


def hello_openai():
    model = "gpt-4o-mini"
    body = {"model": model, "stream": True,
            "messages": [{"role": "user", "content": "Say hello in three words."}]}
    chunks = []
    base = {"id": "chatcmpl-SampleHello0001", "object": "chat.completion.chunk",
            "created": 1795251601, "model": model}
    deltas = [{"role": "assistant", "content": ""}, {"content": "Hello"},
              {"content": " there,"}, {"content": " friend."}]
    for d in deltas:
        chunks.append(dict(base, choices=[{"index": 0, "delta": d, "finish_reason": None}]))
    chunks.append(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    events, t = [], 150000
    for c in chunks:
        events.append({"at_us": t, "data": f"data: {dump(c)}\n\n"})
        t += 30000
    events.append({"at_us": t, "data": "data: [DONE]\n\n"})
    return {
        "seq": 0, "recorded_at": "2026-11-21T09:00:02.000000Z",
        "request": {"method": "POST", "path": "/v1/chat/completions",
                    "headers": [["content-type", "application/json"],
                                ["authorization", "[REDACTED]"]],
                    "body": {"json": body}},
        "response": {"status": 200,
                     "headers": [["content-type", "text/event-stream; charset=utf-8"],
                                 ["x-request-id", "req_sample_openai_0001"],
                                 ["date", "Sat, 21 Nov 2026 09:00:02 GMT"]],
                     "stream": {"kind": "sse", "events": events}},
        "timing": {"headers_us": 148000, "done_us": t},
    }


def write(name, interactions):
    header = {"tapedeck": "cassette", "version": 1, "created_at": CREATED}
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        for line in [header] + interactions:
            f.write(dump(line) + "\n")


if __name__ == "__main__":
    write("hello-anthropic.jsonl", [hello_anthropic()])
    write("hello-openai.jsonl", [hello_openai()])
