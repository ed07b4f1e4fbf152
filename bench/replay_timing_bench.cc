// Replay timing error under load: starts `tapedeck replay --timing recorded` on a generated
// cassette (a 50-event SSE stream with 20 ms gaps), opens N concurrent connections (default
// 100), requests the stream on all of them at once, and measures, for every event, when its last
// byte arrived. Prints p50/p99/max of |replayed gap - recorded gap| and of the drift of each
// event's offset from the recorded one. One epoll thread reads every socket.
//
// Usage: replay_timing_bench TAPEDECK_BIN [--streams N] [--events N] [--gap-ms G]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cassette/codec.h"

namespace {

using Clock = std::chrono::steady_clock;

double Micros(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

struct Conn {
  int fd = -1;
  std::string in;         // raw bytes not yet de-chunked
  std::string body;       // de-chunked body so far
  bool head_done = false;
  size_t next_event = 0;  // index of the next event whose end we wait for
  std::vector<Clock::time_point> arrived;
  bool done = false;
};

// De-chunks what `c.in` holds into `c.body`. Returns false on a framing error.
bool Dechunk(Conn& c) {
  if (!c.head_done) {
    size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return true;
    if (c.in.compare(0, 12, "HTTP/1.1 200") != 0) return false;
    c.in.erase(0, end + 4);
    c.head_done = true;
  }
  while (true) {
    size_t eol = c.in.find("\r\n");
    if (eol == std::string::npos) return true;
    size_t size = std::strtoul(c.in.c_str(), nullptr, 16);
    if (size == 0) {
      c.done = true;
      return true;
    }
    if (c.in.size() < eol + 2 + size + 2) return true;
    c.body.append(c.in, eol + 2, size);
    c.in.erase(0, eol + 2 + size + 2);
  }
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TAPEDECK_BIN [--streams N] [--events N] [--gap-ms G]\n",
                 argv[0]);
    return 2;
  }
  std::string bin = argv[1];
  int streams = 100, events = 50;
  double gap_ms = 20;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--streams") streams = std::atoi(argv[i + 1]);
    if (f == "--events") events = std::atoi(argv[i + 1]);
    if (f == "--gap-ms") gap_ms = std::atof(argv[i + 1]);
  }

  // The cassette: one streamed interaction, `events` events `gap_ms` apart.
  td::cassette::Cassette cassette;
  td::cassette::Interaction it;
  it.request.method = "POST";
  it.request.path = "/v1/messages";
  it.request.body.bytes = R"({"model":"bench","stream":true})";
  it.response.status = 200;
  it.response.headers = {{"content-type", "text/event-stream"}};
  it.response.stream.emplace();
  std::vector<td::Micros> at;
  for (int i = 0; i < events; ++i) {
    td::cassette::StreamEvent e;
    e.bytes = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
              "\"delta\":{\"type\":\"text_delta\",\"text\":\"token " +
              std::to_string(i) + "\"}}\n\n";
    e.at_us = 5000 + static_cast<td::Micros>(i * gap_ms * 1000);
    at.push_back(e.at_us);
    it.response.stream->events.push_back(e);
  }
  it.timing = {4000, at.back()};
  cassette.interactions.push_back(it);
  char dir_template[] = "/tmp/tapedeck-bench-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::string path = dir + "/timing.jsonl";
  td::cassette::WriteOptions plain;
  plain.compress = false;
  if (!td::cassette::WriteCassetteAtomic(path, cassette, plain).ok()) return 1;

  // Start tapedeck and read its port from the listening line.
  int errpipe[2];
  if (pipe(errpipe) != 0) return 1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, errpipe[1], 2);
  std::vector<std::string> args = {bin, "replay", "--cassette", path, "--listen", "127.0.0.1:0",
                                   "--timing", "recorded", "--log-level", "warn"};
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, bin.c_str(), &fa, nullptr, cargs.data(), environ) != 0) return 1;
  close(errpipe[1]);
  std::string err;
  int port = 0;
  while (port == 0) {
    char buf[512];
    ssize_t n = read(errpipe[0], buf, sizeof buf);
    if (n <= 0) {
      std::fprintf(stderr, "tapedeck did not start: %s\n", err.c_str());
      return 1;
    }
    err.append(buf, static_cast<size_t>(n));
    size_t p = err.find("listening on http://127.0.0.1:");
    if (p != std::string::npos && err.find('\n', p) != std::string::npos) {
      port = std::atoi(err.c_str() + p + std::strlen("listening on http://127.0.0.1:"));
    }
  }

  std::string request = "POST /v1/messages HTTP/1.1\r\nHost: bench\r\ncontent-type: "
                        "application/json\r\ncontent-length: " +
                        std::to_string(it.request.body.bytes.size()) + "\r\n\r\n" +
                        it.request.body.bytes;
  std::vector<size_t> ends;
  size_t total = 0;
  for (const auto& e : it.response.stream->events) ends.push_back(total += e.bytes.size());

  int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<size_t>(streams));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (size_t i = 0; i < conns.size(); ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 1;
    conns[i].fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  std::vector<Clock::time_point> sent(conns.size());
  for (size_t i = 0; i < conns.size(); ++i) {
    sent[i] = Clock::now();
    if (write(conns[i].fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      return 1;
    }
  }
  size_t finished = 0;
  auto deadline = Clock::now() + std::chrono::seconds(30) +
                  std::chrono::microseconds(static_cast<long>(at.back()));
  std::vector<epoll_event> ready(64);
  while (finished < conns.size() && Clock::now() < deadline) {
    int n = epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), 1000);
    Clock::time_point now = Clock::now();
    for (int k = 0; k < n; ++k) {
      Conn& c = conns[ready[static_cast<size_t>(k)].data.u64];
      char buf[65536];
      ssize_t r = read(c.fd, buf, sizeof buf);
      if (r <= 0) {
        if (!c.done) {
          std::fprintf(stderr, "a connection ended early\n");
          return 1;
        }
        continue;
      }
      c.in.append(buf, static_cast<size_t>(r));
      if (!Dechunk(c)) {
        std::fprintf(stderr, "bad response framing\n");
        return 1;
      }
      while (c.next_event < ends.size() && c.body.size() >= ends[c.next_event]) {
        c.arrived.push_back(now);
        ++c.next_event;
      }
      if (c.done && c.next_event == ends.size()) {
        ++finished;
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
      }
    }
  }
  kill(pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
  if (finished < conns.size()) {
    std::fprintf(stderr, "only %zu of %zu streams finished\n", finished, conns.size());
    return 1;
  }
  bool bytes_ok = true;
  std::string expected = it.response.stream->Concatenated();
  std::vector<double> gap_err, offset_err;
  for (size_t i = 0; i < conns.size(); ++i) {
    const Conn& c = conns[i];
    bytes_ok = bytes_ok && c.body == expected;
    for (size_t e = 1; e < c.arrived.size(); ++e) {
      double replayed = Micros(c.arrived[e - 1], c.arrived[e]);
      double recorded = static_cast<double>(at[e] - at[e - 1]);
      gap_err.push_back(std::fabs(replayed - recorded));
    }
    for (size_t e = 0; e < c.arrived.size(); ++e) {
      offset_err.push_back(Micros(sent[i], c.arrived[e]) - static_cast<double>(at[e]));
    }
  }
  std::printf("replay timing: %d concurrent streams x %d events, recorded gaps %.1f ms\n",
              streams, events, gap_ms);
  std::printf("bytes identical to the recording on every stream: %s\n", bytes_ok ? "yes" : "NO");
  std::printf("|replayed gap - recorded gap|: p50 %.0f us, p99 %.0f us, max %.0f us (%zu gaps)\n",
              Percentile(gap_err, 50), Percentile(gap_err, 99), Percentile(gap_err, 100),
              gap_err.size());
  std::printf("event offset - recorded offset: p50 %.0f us, p99 %.0f us, max %.0f us\n",
              Percentile(offset_err, 50), Percentile(offset_err, 99), Percentile(offset_err, 100));
  unlink(path.c_str());
  rmdir(dir.c_str());
  return bytes_ok ? 0 : 1;
}
