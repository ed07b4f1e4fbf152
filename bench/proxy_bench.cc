// proxy_bench: what the record proxy adds to a streamed response. Starts, in this process on
// loopback, a fake SSE upstream (each stream sends N events at a fixed interval, each stamped
// with its send time) and the record proxy (EventLoop + HttpServer + RecordHandler writing a
// temp cassette), then runs the same streams twice in each round, directly to the upstream and
// through the proxy, and prints time to first event and per-event delay (arrival minus send
// time) for both, with the difference. Not a test: figures go to docs/performance.md.
//
//   proxy_bench [--events N] [--interval-us U] [--rounds-1 R] [--rounds-64 R] [--on-loop]
//               [--concurrency C (default 64)] [--request-kb K]
//               [--passthrough] [--phase-locked]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cassette/base/log.h"
#include "cassette/codec.h"
#include "cassette/redact.h"
#include "proxy/event_loop.h"
#include "proxy/http_server.h"
#include "proxy/record_handler.h"
#include "proxy/upstream_url.h"

namespace {

using td::Micros;
using td::proxy::EventLoop;

Micros NowUs() { return td::SystemClock::Get().NowMicros(); }

// CPU time used so far by the calling thread.
Micros ThreadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<Micros>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// An EventLoop running on its own thread.
class LoopThread {
 public:
  LoopThread() {
    auto loop = EventLoop::Create();
    if (!loop.ok()) Die(loop.status().message());
    loop_ = std::move(*loop);
    thread_ = std::thread([this] { (void)loop_->Run(); });
  }
  ~LoopThread() {
    loop_->StopSoon();
    thread_.join();
  }
  EventLoop& loop() { return *loop_; }
  template <class F>
  void RunSync(F fn) {
    std::atomic<bool> done{false};
    loop_->Post([&] {
      fn();
      done = true;
      done.notify_one();
    });
    done.wait(false);
  }
  [[noreturn]] static void Die(const std::string& why) {
    std::fprintf(stderr, "proxy_bench: %s\n", why.c_str());
    std::exit(1);
  }

 private:
  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
};

// The fake upstream: every request gets `events` SSE events, one every `interval_us`, each
// carrying its send time: data: {"i":3,"t":123456789}
class SseUpstream final : public td::proxy::Handler {
 public:
  // Concurrent streams are spread over the interval (stream k's events come k/64 of an
  // interval later), as independent streams would be; with `phase_locked`, every stream sends
  // at the same moments, the worst case for any single-threaded hop.
  SseUpstream(EventLoop* loop, int events, Micros interval_us, bool phase_locked)
      : loop_(loop), events_(events), interval_us_(interval_us), phase_locked_(phase_locked) {}

  void Handle(std::shared_ptr<td::proxy::Exchange> exchange) override {
    auto stream = std::make_shared<Stream>();
    stream->exchange = std::move(exchange);
    stream->exchange->sink().Start(200, {{"content-type", "text/event-stream"}}, std::nullopt);
    Stream* raw = stream.get();
    stream->phase_us = phase_locked_ ? 0 : (next_phase_++ % 64) * interval_us_ / 64;
    streams_[raw] = stream;
    stream->exchange->SetOnClientGone([this, raw] { streams_.erase(raw); });
    Send(raw);
  }

 private:
  struct Stream {
    std::shared_ptr<td::proxy::Exchange> exchange;
    int sent = 0;
    Micros phase_us = 0;  // added before the second event only
    td::proxy::TimerHandle timer;
  };

  void Send(Stream* stream) {
    char event[96];
    int n = std::snprintf(event, sizeof event, "event: delta\ndata: {\"i\":%d,\"t\":%lld}\n\n",
                          stream->sent, static_cast<long long>(NowUs()));
    stream->exchange->sink().Write(std::string_view(event, static_cast<size_t>(n)));
    if (++stream->sent == events_) {
      stream->exchange->sink().Finish();
      streams_.erase(stream);
      return;
    }
    Micros delay = interval_us_ + (stream->sent == 1 ? stream->phase_us : 0);
    stream->timer = loop_->RunAfter(delay, [this, stream] { Send(stream); });
  }

  EventLoop* loop_;
  int events_;
  Micros interval_us_;
  bool phase_locked_;
  uint64_t next_phase_ = 0;
  std::map<Stream*, std::shared_ptr<Stream>> streams_;
};

struct StreamResult {
  bool ok = false;
  Micros ttfb_us = 0;             // connect start -> first event complete
  std::vector<Micros> delays_us;  // per event: arrival - send stamp
};

// One streaming request over a blocking socket; decodes chunked framing, cuts events at the
// blank line, and notes when each event's last byte arrived.
StreamResult RunStream(uint16_t port, int events, const std::string& body_json) {
  StreamResult result;
  Micros start = NowUs();
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return result;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string request =
      "POST /v1/messages HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
      "x-api-key: bench-placeholder\r\nContent-Length: " +
      std::to_string(body_json.size()) + "\r\n\r\n" + body_json;
  std::string_view out = request;
  while (!out.empty()) {
    ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return result;
    }
    out.remove_prefix(static_cast<size_t>(n));
  }
  std::string raw;   // undecoded bytes
  std::string body;  // decoded, not yet cut into events
  bool head_done = false;
  enum class Chunk { kSize, kData, kDataEnd } chunk = Chunk::kSize;
  uint64_t chunk_left = 0;
  int seen = 0;
  char buf[65536];
  while (seen < events) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    Micros now = NowUs();
    raw.append(buf, static_cast<size_t>(n));
    if (!head_done) {
      size_t end = raw.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      raw.erase(0, end + 4);
      head_done = true;
    }
    // De-chunk what is here.
    bool more = true;
    while (more) {
      switch (chunk) {
        case Chunk::kSize: {
          size_t eol = raw.find("\r\n");
          if (eol == std::string::npos) {
            more = false;
            break;
          }
          chunk_left = std::strtoull(raw.substr(0, eol).c_str(), nullptr, 16);
          raw.erase(0, eol + 2);
          chunk = Chunk::kData;
          if (chunk_left == 0) more = false;  // the last chunk
          break;
        }
        case Chunk::kData: {
          size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left, raw.size()));
          body.append(raw, 0, take);
          raw.erase(0, take);
          chunk_left -= take;
          if (chunk_left > 0) {
            more = false;
          } else {
            chunk = Chunk::kDataEnd;
          }
          break;
        }
        case Chunk::kDataEnd:
          if (raw.size() < 2) {
            more = false;
          } else {
            raw.erase(0, 2);
            chunk = Chunk::kSize;
          }
          break;
      }
    }
    // Cut complete events.
    size_t end;
    while ((end = body.find("\n\n")) != std::string::npos) {
      std::string event = body.substr(0, end + 2);
      body.erase(0, end + 2);
      size_t t = event.find("\"t\":");
      if (t == std::string::npos) continue;
      Micros sent = std::strtoll(event.c_str() + t + 4, nullptr, 10);
      if (seen == 0) result.ttfb_us = now - start;
      result.delays_us.push_back(now - sent);
      ++seen;
    }
  }
  ::close(fd);
  result.ok = seen == events;
  return result;
}

struct Samples {
  std::vector<Micros> ttfb;
  std::vector<Micros> delay;
  int failed = 0;
};

void RunRound(uint16_t port, int streams, int events, const std::string& body_json, Samples* out) {
  std::vector<StreamResult> results(static_cast<size_t>(streams));
  std::vector<std::thread> threads;
  for (int i = 0; i < streams; ++i) {
    threads.emplace_back(
        [&, i] { results[static_cast<size_t>(i)] = RunStream(port, events, body_json); });
  }
  for (std::thread& t : threads) t.join();
  for (const StreamResult& r : results) {
    if (!r.ok) {
      ++out->failed;
      continue;
    }
    out->ttfb.push_back(r.ttfb_us);
    out->delay.insert(out->delay.end(), r.delays_us.begin(), r.delays_us.end());
  }
}

Micros Percentile(std::vector<Micros> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void PrintRow(const char* what, const std::vector<Micros>& direct,
              const std::vector<Micros>& proxied) {
  Micros d50 = Percentile(direct, 0.5), d99 = Percentile(direct, 0.99),
         dmax = Percentile(direct, 1);
  Micros p50 = Percentile(proxied, 0.5), p99 = Percentile(proxied, 0.99),
         pmax = Percentile(proxied, 1);
  std::printf("  %-6s n=%-5zu direct   p50 %6lld us  p99 %6lld us  max %6lld us\n", what,
              direct.size(), static_cast<long long>(d50), static_cast<long long>(d99),
              static_cast<long long>(dmax));
  std::printf("  %-6s n=%-5zu proxied  p50 %6lld us  p99 %6lld us  max %6lld us\n", "",
              proxied.size(), static_cast<long long>(p50), static_cast<long long>(p99),
              static_cast<long long>(pmax));
  std::printf("  %-6s         added    p50 %6lld us  p99 %6lld us  max %6lld us\n", "",
              static_cast<long long>(p50 - d50), static_cast<long long>(p99 - d99),
              static_cast<long long>(pmax - dmax));
}

int IntFlag(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int events = IntFlag(argc, argv, "--events", 50);
  const Micros interval_us = IntFlag(argc, argv, "--interval-us", 2000);
  const int rounds_1 = IntFlag(argc, argv, "--rounds-1", 40);
  const int rounds_64 = IntFlag(argc, argv, "--rounds-64", 4);
  const int many = IntFlag(argc, argv, "--concurrency", 64);  // the "64 streams" case
  // --request-kb K: pad each request with a K KB system prompt, as agents send (recording a
  // long interaction costs the writer milliseconds).
  const int request_kb = IntFlag(argc, argv, "--request-kb", 0);
  std::string body_json = R"({"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,)";
  if (request_kb > 0) {
    std::string prompt;
    for (int i = 0; prompt.size() < static_cast<size_t>(request_kb) * 1024; ++i) {
      prompt += "Rule " + std::to_string(i) +
                ": be precise, cite the file and line, and prefer "
                "small diffs. ";
    }
    body_json += R"("system":")" + prompt + R"(",)";
  }
  body_json += R"("messages":[{"role":"user","content":"bench"}]})";
  bool passthrough = false;   // --passthrough: forward only, record nothing (for comparison)
  bool on_loop = false;       // --on-loop: redact and write on the loop, not a worker thread
  bool phase_locked = false;  // --phase-locked: all streams send at the same moments
  for (int i = 1; i < argc; ++i) {
    phase_locked |= std::strcmp(argv[i], "--phase-locked") == 0;
    passthrough |= std::strcmp(argv[i], "--passthrough") == 0;
    on_loop |= std::strcmp(argv[i], "--on-loop") == 0;
  }
  td::SetLogLevel(td::LogLevel::kWarn);  // no access log lines in the figures

  const std::string cassette_path = (std::filesystem::temp_directory_path() /
                                     ("proxy_bench-" + std::to_string(::getpid()) + ".jsonl.zst"))
                                        .string();

  LoopThread upstream_thread;
  SseUpstream upstream_handler(&upstream_thread.loop(), events, interval_us, phase_locked);
  std::unique_ptr<td::proxy::HttpServer> upstream_server;
  upstream_thread.RunSync([&] {
    auto server = td::proxy::HttpServer::Create(&upstream_thread.loop(), {}, &upstream_handler);
    if (!server.ok()) LoopThread::Die(server.status().message());
    upstream_server = std::move(*server);
  });
  const uint16_t upstream_port = upstream_server->port();

  LoopThread proxy_thread;
  std::unique_ptr<td::cassette::CassetteWriter> writer;
  std::unique_ptr<td::proxy::RecordHandler> handler;
  std::unique_ptr<td::proxy::HttpServer> proxy_server;
  proxy_thread.RunSync([&] {
    auto opened = td::cassette::CassetteWriter::Open(
        cassette_path, td::cassette::CassetteWriter::OpenMode::kTruncate, {});
    if (!opened.ok()) LoopThread::Die(opened.status().message());
    writer = std::move(*opened);
    auto url = td::proxy::ParseUpstreamUrl("http://127.0.0.1:" + std::to_string(upstream_port));
    auto redactor = td::cassette::Redactor::Create({});
    if (!url.ok() || !redactor.ok()) LoopThread::Die("bad set-up");
    td::proxy::RecordOptions options;
    options.upstream_url = *url;
    options.redactor = *redactor;
    options.writer = passthrough ? nullptr : writer.get();
    options.write_on_worker = !on_loop;
    auto created = td::proxy::RecordHandler::Create(&proxy_thread.loop(), std::move(options));
    if (!created.ok()) LoopThread::Die(created.status().message());
    handler = std::move(*created);
    auto server = td::proxy::HttpServer::Create(&proxy_thread.loop(), {}, handler.get());
    if (!server.ok()) LoopThread::Die(server.status().message());
    proxy_server = std::move(*server);
  });
  const uint16_t proxy_port = proxy_server->port();

  std::printf("proxy_bench: %d events per stream, one every %lld us; the proxy %s %s%s\n", events,
              static_cast<long long>(interval_us),
              passthrough ? "forwards only (passthrough), no cassette; was to be" : "records to",
              cassette_path.c_str(),
              passthrough ? ""
              : on_loop   ? " (writes on the loop)"
                          : " (writes on a worker thread)");
  std::printf("  ttfb: connect start to first complete event; event: arrival minus send stamp\n");
  std::printf("  request body %zu bytes\n", body_json.size());
  std::printf("  concurrent streams send %s\n",
              phase_locked ? "at the same moments (--phase-locked)"
                           : "spread over the interval (independent phases)");
  std::printf("  added: proxied percentile minus direct percentile (same run, rounds alternate)\n");
  for (auto [streams, rounds] : {std::pair{1, rounds_1}, std::pair{many, rounds_64}}) {
    Samples direct;
    Samples proxied;
    for (int r = 0; r < rounds; ++r) {
      RunRound(upstream_port, streams, events, body_json, &direct);
      RunRound(proxy_port, streams, events, body_json, &proxied);
    }
    std::printf("streams=%d rounds=%d (failed streams: direct %d, proxied %d)\n", streams, rounds,
                direct.failed, proxied.failed);
    PrintRow("ttfb", direct.ttfb, proxied.ttfb);
    PrintRow("event", direct.delay, proxied.delay);
  }

  uint64_t recorded = 0;
  Micros proxy_cpu_us = 0;
  Micros upstream_cpu_us = 0;
  upstream_thread.RunSync([&] { upstream_cpu_us = ThreadCpuUs(); });
  proxy_thread.RunSync([&] { handler->Flush(); });  // results post back to the loop...
  proxy_thread.RunSync([&] {                        // ...and are counted by now
    proxy_cpu_us = ThreadCpuUs();
    recorded = handler->stats().recorded;
    proxy_server.reset();
    handler.reset();
    (void)writer->Close();
    writer.reset();
  });
  upstream_thread.RunSync([&] { upstream_server.reset(); });
  std::error_code ec;
  const long long proxied_streams = rounds_1 + static_cast<long long>(many) * rounds_64;
  const long long proxied_events = proxied_streams * events;
  std::printf(
      "proxy loop thread CPU: %lld ms for %lld streams / %lld events (%.1f us per event, "
      "all work included: parse, forward, record, redact, scan, compress, write)\n",
      static_cast<long long>(proxy_cpu_us / 1000), proxied_streams, proxied_events,
      proxied_events ? static_cast<double>(proxy_cpu_us) / static_cast<double>(proxied_events)
                     : 0.0);
  std::printf("upstream loop thread CPU: %lld ms (direct and proxied streams together)\n",
              static_cast<long long>(upstream_cpu_us / 1000));
  std::printf("recorded %llu interactions, cassette %llu bytes\n",
              static_cast<unsigned long long>(recorded),
              static_cast<unsigned long long>(std::filesystem::file_size(cassette_path, ec)));
  std::filesystem::remove(cassette_path, ec);
  return 0;
}
