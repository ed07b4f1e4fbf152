// compression_bench: how small an agent-style cassette gets and how long CassetteWriter::Append
// takes. 50 turns of a coding agent, each request resending the same ~20 KB system prompt and
// tool list plus a growing conversation, each answered by a ~30-event SSE stream. Prints raw and
// compressed sizes per zstd level, the one-frame-per-interaction alternative, and Append times.
// Exit status 1 when the default level misses the bar (compressed <= 5% of raw).
//
//   build-codec/bench/compression_bench [--turns N] [--repeat N]
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/agent_traffic.h"
#include "cassette/cassette_writer.h"
#include "cassette/codec.h"
#include "cassette/json_mapping.h"
#include "cassette/model.h"

namespace {

namespace fs = std::filesystem;
using td::bench::traffic::Paragraph;
using td::bench::traffic::Rng;
using td::bench::traffic::SseEvent;
using td::bench::traffic::SystemPrompt;
using td::bench::traffic::ToolOutput;
using td::bench::traffic::Tools;
using td::cassette::CassetteWriter;
using td::cassette::Interaction;
using td::cassette::Json;

std::vector<Interaction> AgentSession(size_t turns) {
  Rng rng(3);
  const std::string system = SystemPrompt(10 * 1024);
  const Json tools = Tools();
  Json messages = Json::array();
  messages.push_back({{"role", "user"},
                      {"content",
                       "Fix the failing test in cassette/codec.cc and explain why it "
                       "failed."}});
  std::vector<Interaction> out;
  td::Micros recorded_at = 1795249953123456;
  for (size_t turn = 0; turn < turns; ++turn) {
    Interaction i;
    i.seq = turn;
    i.recorded_at_us = recorded_at;
    recorded_at += 4000000 + static_cast<td::Micros>(rng.Below(3000000));
    i.request.method = "POST";
    i.request.path = "/v1/messages";
    i.request.headers = {
        {"host", "api.anthropic.com"},       {"content-type", "application/json"},
        {"anthropic-version", "2023-06-01"}, {"anthropic-beta", "interleaved-thinking-2025-05-14"},
        {"x-api-key", "[REDACTED]"},         {"user-agent", "claude-cli/2.0.14 (external, cli)"},
        {"x-stainless-retry-count", "0"}};
    Json body = Json::object();
    body["model"] = "claude-sonnet-4-5";
    body["max_tokens"] = 32000;
    body["system"] = Json::array({{{"type", "text"}, {"text", system}}});
    body["tools"] = tools;
    body["messages"] = messages;
    body["metadata"] = {{"user_id", "user_4f2a_account_9c1e_session_77d0"}};
    body["stream"] = true;
    i.request.body.bytes = body.dump();

    // The reply: some text, then a tool call.
    const std::string text = Paragraph(rng, 3 + rng.Below(4));
    const std::string tool_id = "toolu_01" + std::to_string(100000 + rng.Below(900000)) + "Xyz";
    const Json tool_input = {
        {"path", "cassette/codec.cc"}, {"offset", rng.Below(400)}, {"limit", 80}};
    const std::string msg_id = "msg_01" + std::to_string(1000000 + rng.Below(9000000)) + "Abc";
    i.response.status = 200;
    i.response.headers = {{"content-type", "text/event-stream; charset=utf-8"},
                          {"cache-control", "no-cache"},
                          {"request-id", "req_011CV" + std::to_string(rng.Below(1000000))},
                          {"anthropic-organization-id", "[REDACTED]"},
                          {"via", "1.1 google"}};
    td::cassette::Stream stream;
    td::Micros at = 380000 + static_cast<td::Micros>(rng.Below(200000));
    auto add = [&](std::string bytes) {
      stream.events.push_back({std::move(bytes), at, {}});
      at += 8000 + static_cast<td::Micros>(rng.Below(40000));
    };
    add(SseEvent("message_start",
                 {{"type", "message_start"},
                  {"message",
                   {{"id", msg_id},
                    {"type", "message"},
                    {"role", "assistant"},
                    {"model", "claude-sonnet-4-5-20250929"},
                    {"content", Json::array()},
                    {"stop_reason", nullptr},
                    {"stop_sequence", nullptr},
                    {"usage", {{"input_tokens", 6000 + turn * 700}, {"output_tokens", 1}}}}}}));
    add(SseEvent("content_block_start", {{"type", "content_block_start"},
                                         {"index", 0},
                                         {"content_block", {{"type", "text"}, {"text", ""}}}}));
    add("event: ping\ndata: {\"type\": \"ping\"}\n\n");
    const size_t pieces = 18;
    for (size_t p = 0; p < pieces; ++p) {
      const size_t from = text.size() * p / pieces;
      const size_t to = text.size() * (p + 1) / pieces;
      add(SseEvent("content_block_delta",
                   {{"type", "content_block_delta"},
                    {"index", 0},
                    {"delta", {{"type", "text_delta"}, {"text", text.substr(from, to - from)}}}}));
    }
    add(SseEvent("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}));
    add(SseEvent("content_block_start", {{"type", "content_block_start"},
                                         {"index", 1},
                                         {"content_block",
                                          {{"type", "tool_use"},
                                           {"id", tool_id},
                                           {"name", "read_file"},
                                           {"input", Json::object()}}}}));
    const std::string input_json = tool_input.dump();
    for (size_t p = 0; p < 4; ++p) {
      const size_t from = input_json.size() * p / 4;
      const size_t to = input_json.size() * (p + 1) / 4;
      add(SseEvent("content_block_delta",
                   {{"type", "content_block_delta"},
                    {"index", 1},
                    {"delta",
                     {{"type", "input_json_delta"},
                      {"partial_json", input_json.substr(from, to - from)}}}}));
    }
    add(SseEvent("content_block_stop", {{"type", "content_block_stop"}, {"index", 1}}));
    add(SseEvent("message_delta",
                 {{"type", "message_delta"},
                  {"delta", {{"stop_reason", "tool_use"}, {"stop_sequence", nullptr}}},
                  {"usage", {{"output_tokens", 40 + rng.Below(200)}}}}));
    add(SseEvent("message_stop", {{"type", "message_stop"}}));
    i.timing.headers_us = 350000;
    i.timing.done_us = stream.events.back().at_us;
    i.response.stream = std::move(stream);
    out.push_back(std::move(i));

    // The conversation grows: the reply and the tool's result go into the next request.
    messages.push_back({{"role", "assistant"},
                        {"content", Json::array({{{"type", "text"}, {"text", text}},
                                                 {{"type", "tool_use"},
                                                  {"id", tool_id},
                                                  {"name", "read_file"},
                                                  {"input", tool_input}}})}});
    messages.push_back({{"role", "user"},
                        {"content", Json::array({{{"type", "tool_result"},
                                                  {"tool_use_id", tool_id},
                                                  {"content", ToolOutput(rng)}}})}});
  }
  return out;
}

struct Run {
  std::uint64_t compressed = 0;
  std::vector<double> append_ms;  // per interaction, in order
};

// Writes `session` with one writer (one frame, flushed per interaction) and times each Append.
Run WriteOneFrame(const std::string& path, const std::vector<Interaction>& session, int level) {
  td::cassette::WriteOptions options;
  options.level = level;
  Run run;
  auto writer = CassetteWriter::Open(path, CassetteWriter::OpenMode::kTruncate, options);
  if (!writer.ok()) {
    std::fprintf(stderr, "%s\n", writer.status().message().c_str());
    std::exit(2);
  }
  for (const Interaction& i : session) {
    const auto start = std::chrono::steady_clock::now();
    const td::Status st = (*writer)->Append(i);
    const auto end = std::chrono::steady_clock::now();
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      std::exit(2);
    }
    run.append_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  if (!(*writer)->Close().ok()) std::exit(2);
  run.compressed = fs::file_size(path);
  return run;
}

// The alternative: a new zstd frame for every interaction (a kAppend session per interaction).
std::uint64_t WriteFramePerInteraction(const std::string& path,
                                       const std::vector<Interaction>& session, int level) {
  td::cassette::WriteOptions options;
  options.level = level;
  fs::remove(path);
  for (const Interaction& i : session) {
    auto writer = CassetteWriter::Open(path, CassetteWriter::OpenMode::kAppend, options);
    if (!writer.ok() || !(*writer)->Append(i).ok() || !(*writer)->Close().ok()) std::exit(2);
  }
  return fs::file_size(path);
}

// The memory a writer's compression context holds at `level`, after it has compressed `line`
// the way CassetteWriter does (streaming, size unknown, flushed).
size_t CompressorMemory(int level, const std::string& line) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  std::string out(ZSTD_compressBound(line.size()) + 1024, '\0');
  ZSTD_inBuffer in{line.data(), line.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  while (ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_flush) > 0) {
  }
  const size_t bytes = ZSTD_sizeof_CCtx(cctx);
  ZSTD_freeCCtx(cctx);
  return bytes;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

}  // namespace

int main(int argc, char** argv) {
  size_t turns = 50;
  int repeat = 3;
  for (int a = 1; a + 1 < argc; a += 2) {
    if (std::strcmp(argv[a], "--turns") == 0) turns = std::strtoul(argv[a + 1], nullptr, 10);
    if (std::strcmp(argv[a], "--repeat") == 0) repeat = std::atoi(argv[a + 1]);
  }
  const std::vector<Interaction> session = AgentSession(turns);
  td::cassette::Cassette cassette;
  cassette.created_at_us = 1795249953123456;
  cassette.interactions = session;
  const std::string raw = td::cassette::SerializeCassette(cassette);
  size_t largest = 0;
  size_t first_request = session.front().request.body.bytes.size();
  for (const Interaction& i : session) {
    largest = std::max(largest, td::cassette::SerializeInteraction(i).size());
  }

  std::string dir_template = (fs::temp_directory_path() / "tapedeck-bench-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) return 2;
  const fs::path dir = dir_template;
  const std::string path = (dir / "agent.jsonl.zst").string();

  std::printf("agent session: %zu turns, %zu events per response, first request body %zu bytes\n",
              turns, session.front().response.stream->events.size(), first_request);
  std::printf("raw JSON Lines: %zu bytes; largest line (last turn): %zu bytes\n\n", raw.size(),
              largest);
  // Serialising (the JSON mapping, which checks each body re-spells exactly) is part of every
  // Append whatever the level; time it alone to see what compression adds.
  std::vector<double> serialize_ms(session.size(), 1e9);
  for (int r = 0; r < repeat; ++r) {
    for (size_t k = 0; k < session.size(); ++k) {
      const auto start = std::chrono::steady_clock::now();
      const std::string line = td::cassette::SerializeInteraction(session[k]);
      const auto end = std::chrono::steady_clock::now();
      if (line.empty()) return 2;
      serialize_ms[k] =
          std::min(serialize_ms[k], std::chrono::duration<double, std::milli>(end - start).count());
    }
  }
  double serialize_sum = 0;
  for (double ms : serialize_ms) serialize_sum += ms;
  std::printf("serialising alone: mean %.2f ms, max %.2f ms, last %.2f ms per interaction\n\n",
              serialize_sum / static_cast<double>(serialize_ms.size()),
              *std::max_element(serialize_ms.begin(), serialize_ms.end()), serialize_ms.back());

  std::printf("%-6s %12s %8s %12s %12s %12s %14s %9s\n", "level", "compressed", "of raw",
              "append mean", "append p50", "append max", "last append", "memory");
  const int default_level = td::cassette::WriteOptions{}.level;
  std::vector<int> levels = {1, 3, 6, 9, 12, 15, 19};
  if (std::find(levels.begin(), levels.end(), default_level) == levels.end()) {
    levels.push_back(default_level);
    std::sort(levels.begin(), levels.end());
  }
  double default_ratio = 0;
  for (const int level : levels) {
    Run best;
    for (int r = 0; r < repeat; ++r) {
      Run run = WriteOneFrame(path, session, level);
      if (r == 0) {
        best = run;
      } else {
        for (size_t k = 0; k < run.append_ms.size(); ++k) {
          best.append_ms[k] = std::min(best.append_ms[k], run.append_ms[k]);
        }
      }
    }
    double sum = 0;
    for (double ms : best.append_ms) sum += ms;
    const double ratio =
        100.0 * static_cast<double>(best.compressed) / static_cast<double>(raw.size());
    if (level == default_level) default_ratio = ratio;
    std::printf("%-6d %12llu %7.2f%% %9.2f ms %9.2f ms %9.2f ms %11.2f ms %6zu MB%s\n", level,
                static_cast<unsigned long long>(best.compressed), ratio,
                sum / static_cast<double>(best.append_ms.size()), Percentile(best.append_ms, 0.5),
                *std::max_element(best.append_ms.begin(), best.append_ms.end()),
                best.append_ms.back(),
                CompressorMemory(level, raw.substr(0, raw.find('\n', 100) + 1)) >> 20,
                level == default_level ? "  <- default" : "");
  }
  {
    // Reading it back (what replay does at start): decompress, parse every line, map it.
    WriteOneFrame(path, session, default_level);
    double best_ms = 1e9;
    for (int r = 0; r < repeat; ++r) {
      const auto start = std::chrono::steady_clock::now();
      td::Result<td::cassette::Cassette> back = td::cassette::ReadCassette(path);
      const auto end = std::chrono::steady_clock::now();
      if (!back.ok() || back->interactions.size() != session.size()) return 2;
      best_ms = std::min(best_ms, std::chrono::duration<double, std::milli>(end - start).count());
    }
    std::printf("\nReadCassette of the level %d file: %.1f ms\n", default_level, best_ms);
  }
  const std::uint64_t per_frame = WriteFramePerInteraction(path, session, default_level);
  std::printf("one zstd frame per interaction (level %d): %llu bytes, %.2f%% of raw\n",
              default_level, static_cast<unsigned long long>(per_frame),
              100.0 * static_cast<double>(per_frame) / static_cast<double>(raw.size()));
  std::printf(
      "one frame flushed per interaction (level %d, the writer): %.2f%% of raw "
      "(bar: at most 5%%): %s\n",
      default_level, default_ratio, default_ratio <= 5.0 ? "ok" : "MISSED");
  std::error_code ec;
  fs::remove_all(dir, ec);
  return default_ratio <= 5.0 ? 0 : 1;
}
