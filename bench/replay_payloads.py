# The replay benches' payloads: an Anthropic non-streamed answer and a 50-event SSE stream, as a
# cassette (WORK/bench.jsonl, for tapedeck), as static files (WORK/www/v1/message.json and
# stream.sse, for nginx), byte for byte the same bodies, and the POST bodies that select them
# (WORK/post_plain.json, post_stream.json; as wrk scripts, WORK/post_plain.lua, post_stream.lua).
# Usage: python3 bench/replay_payloads.py WORK
import json, os, sys

work = sys.argv[1]
dump = lambda v: json.dumps(v, separators=(",", ":"))
os.makedirs(f"{work}/www/v1", exist_ok=True)
message = dump({"id": "msg_bench0001", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "Hello! " * 40}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 24, "output_tokens": 81}})
events = ["event: message_start\ndata: " + dump({"type": "message_start", "message": {
    "id": "msg_bench0002", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [], "usage": {"input_tokens": 24, "output_tokens": 1}}}) + "\n\n"]
for i in range(48):
    events.append("event: content_block_delta\ndata: " + dump({"type": "content_block_delta",
        "index": 0, "delta": {"type": "text_delta", "text": f"token{i} "}}) + "\n\n")
events.append("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
open(f"{work}/www/v1/message.json", "w").write(message)
open(f"{work}/www/v1/stream.sse", "w").write("".join(events))
req = lambda stream: {"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": stream,
                      "messages": [{"role": "user", "content": "bench"}]}
def interaction(seq, stream, response):
    return {"seq": seq, "recorded_at": "2026-11-21T10:00:00.000000Z",
            "request": {"method": "POST", "path": "/v1/messages",
                        "headers": [["content-type", "application/json"]],
                        "body": {"json": req(stream)}},
            "response": response, "timing": {"headers_us": 1000, "done_us": 2000}}
plain = {"status": 200, "headers": [["content-type", "application/json"]],
         "body": {"text": message}}
streamed = {"status": 200, "headers": [["content-type", "text/event-stream"]],
            "stream": {"kind": "sse", "events": [{"at_us": 1000 + i, "data": e}
                                                  for i, e in enumerate(events)]}}
with open(f"{work}/bench.jsonl", "w") as f:
    f.write(dump({"tapedeck": "cassette", "version": 1,
                  "created_at": "2026-11-21T10:00:00.000000Z"}) + "\n")
    f.write(dump(interaction(0, False, plain)) + "\n")
    f.write(dump(interaction(1, True, streamed)) + "\n")
for name, stream in (("post_plain", False), ("post_stream", True)):
    open(f"{work}/{name}.json", "w").write(dump(req(stream)))
    body = dump(req(stream)).replace("\\", "\\\\").replace("'", "\\'")
    open(f"{work}/{name}.lua", "w").write(
        "wrk.method = 'POST'\nwrk.headers['content-type'] = 'application/json'\n"
        f"wrk.body = '{body}'\n")
print(f"message {len(message)} bytes, stream {len(''.join(events))} bytes in {len(events)} events")
