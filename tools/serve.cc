// The serving modes. One function per step: validate everything the config says (exit 2 before
// anything listens), open the cassette (exit 3), build the handlers for the mode, listen, run
// the loop until a signal (or exec's child) ends it, then shut down gracefully and report.
#include "tools/serve.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>  // environ

#include <cstdio>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "cassette/base/log.h"
#include "cassette/cassette_writer.h"
#include "cassette/codec.h"
#include "proxy/event_loop.h"
#include "proxy/http_server.h"
#include "proxy/record_handler.h"
#include "proxy/upstream_url.h"
#include "replay/replay_handler.h"
#include "tools/admin_handler.h"
#include "tools/child_process.h"
#include "tools/exit_codes.h"

namespace td::cli {
namespace {

enum class Mode { kRecord, kReplay, kAuto, kPassthrough };

std::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kRecord: return "record";
    case Mode::kReplay: return "replay";
    case Mode::kAuto: return "auto";
    case Mode::kPassthrough: return "passthrough";
  }
  return "?";
}

bool Records(Mode m) { return m == Mode::kRecord || m == Mode::kAuto; }
bool Replays(Mode m) { return m == Mode::kReplay || m == Mode::kAuto; }
bool Forwards(Mode m) { return m != Mode::kReplay; }

// Everything the config says, validated. Building it is the only place flags are interpreted.
struct Plan {
  Mode mode = Mode::kReplay;
  bool exec = false;
  std::vector<std::string> command;  // exec's CMD ARGS
  proxy::ServerOptions server;
  std::string cassette_path;
  cassette::WriteOptions write;
  bool append = false;
  cassette::RedactionRules redaction;
  std::optional<proxy::UpstreamUrl> upstream;
  proxy::UpstreamOptions upstream_options;
  replay::ReplayOptions replay;
  bool strict = false;
  Micros grace_us = 0;
};

Status Fail(std::string message) { return InvalidArgumentError(std::move(message)); }

Result<Mode> ModeOf(const Config& config) {
  switch (config.command()) {
    case kRecord: return Mode::kRecord;
    case kReplay: return Mode::kReplay;
    case kAuto: return Mode::kAuto;
    case kPassthrough: return Mode::kPassthrough;
    case kExec: {
      const std::string& m = config.Get("mode");
      if (m == "replay") return Mode::kReplay;
      if (m == "record") return Mode::kRecord;
      if (m == "auto") return Mode::kAuto;
      return Fail("--mode \"" + m + "\": expected replay, record or auto");
    }
    default: return Fail("not a serving command");
  }
}

Status BuildReplayOptions(const Config& config, replay::ReplayOptions* out) {
  replay::MatchOptions match;
  for (const std::string& p : config.GetAll("preset")) {
    Result<replay::MatchOptions> m = replay::ApplyPreset(p, std::move(match));
    if (!m.ok()) return m.status().WithContext("--preset");
    match = std::move(*m);
  }
  for (const std::string& p : config.GetAll("ignore-json-path")) match.ignore_json_paths.push_back(p);
  for (const std::string& h : config.GetAll("ignore-header")) match.ignore_headers.push_back(h);
  for (const std::string& h : config.GetAll("match-header")) match.match_headers.push_back(h);
  for (const std::string& n : config.GetAll("normalize")) {
    Result<replay::Normalizer> norm = replay::ParseNormalizer(n);
    if (!norm.ok()) return norm.status().WithContext("--normalize");
    match.normalizers.push_back(std::move(*norm));
  }
  // Compile once here so a bad regex or path fails at start, not on the first request.
  Result<replay::RequestNormalizer> check = replay::RequestNormalizer::Create(match);
  if (!check.ok()) return check.status();
  out->match = std::move(match);

  Result<replay::Timing> timing = replay::ParseTiming(config.Get("timing"));
  if (!timing.ok()) return timing.status();
  Result<replay::Chunking> chunking = replay::ParseChunking(config.Get("chunking"));
  if (!chunking.ok()) return chunking.status();
  Result<replay::Fault> fault = replay::ParseFault(config.Get("fault"));
  if (!fault.ok()) return fault.status();
  out->play = replay::PlayOptions{*timing, *chunking, *fault};

  const std::string& ex = config.Get("on-exhausted");
  if (ex == "repeat-last") {
    out->on_exhausted = replay::OnExhausted::kRepeatLast;
  } else if (ex == "error") {
    out->on_exhausted = replay::OnExhausted::kError;
  } else {
    return Fail("--on-exhausted \"" + ex + "\": expected repeat-last or error");
  }
  return Status::Ok();
}

Result<Plan> BuildPlan(const Config& config) {
  Plan plan;
  Result<Mode> mode = ModeOf(config);
  if (!mode.ok()) return mode.status();
  plan.mode = *mode;
  plan.exec = config.command() == kExec;
  if (plan.exec) {
    plan.command = config.positional();
    if (plan.command.empty()) return Fail("exec: no command given (tapedeck exec ... -- CMD ARGS)");
    plan.server.host = "127.0.0.1";
    plan.server.port = 0;
  } else {
    if (!config.positional().empty()) {
      return Fail("unexpected argument \"" + config.positional()[0] + "\"");
    }
    Result<HostPort> listen = config.Listen();
    if (!listen.ok()) return listen.status();
    plan.server.host = listen->host;
    plan.server.port = static_cast<uint16_t>(listen->port);
    if (!config.Get("require-key").empty()) plan.server.required_key = config.Get("require-key");
  }

  if (plan.mode != Mode::kPassthrough) {
    plan.cassette_path = config.Get("cassette");
    if (plan.cassette_path.empty()) return Fail("--cassette FILE is required");
  }
  if (Forwards(plan.mode)) {
    const std::string& up = config.Get("upstream");
    if (up.empty()) {
      return Fail("--upstream URL is required in " + std::string(ModeName(plan.mode)) +
                  " mode (e.g. --upstream https://api.anthropic.com)");
    }
    Result<proxy::UpstreamUrl> url = proxy::ParseUpstreamUrl(up);
    if (!url.ok()) return url.status();
    plan.upstream = *url;
    plan.upstream_options.ca_file = config.Get("upstream-ca");
    plan.upstream_options.insecure = config.GetBool("insecure-skip-verify");
    Result<std::int64_t> ct = ParseSeconds("connect-timeout", config.Get("connect-timeout"));
    if (!ct.ok()) return ct.status();
    Result<std::int64_t> rt = ParseSeconds("read-timeout", config.Get("read-timeout"));
    if (!rt.ok()) return rt.status();
    if (*ct == 0 || *rt == 0) return Fail("--connect-timeout and --read-timeout must be > 0");
    plan.upstream_options.connect_timeout_us = *ct;
    plan.upstream_options.read_timeout_us = *rt;
  } else if (!config.Get("upstream").empty() && plan.exec) {
    return Fail("--upstream is for --mode record or auto; replay never contacts a network");
  }
  Result<cassette::RedactionRules> rules = config.Redaction();
  if (!rules.ok()) return rules.status();
  plan.redaction = std::move(*rules);
  if (Records(plan.mode)) {
    plan.write = config.Write();
    plan.append = plan.mode == Mode::kAuto || config.GetBool("append");
  }
  if (Replays(plan.mode)) {
    TD_RETURN_IF_ERROR(BuildReplayOptions(config, &plan.replay));
    plan.strict = config.GetBool("strict");
  }
  Result<std::int64_t> grace = ParseSeconds("grace-period", config.Get("grace-period"));
  if (!grace.ok()) return grace.status();
  plan.grace_us = *grace;
  return plan;
}

bool FileExists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

// The running pieces of one mode. Members are destroyed in reverse order of declaration, so
// keep this order: the server (which owns connections and their exchanges) goes before the
// handlers, the handlers before the writer, everything before the loop.
struct Runtime {
  std::unique_ptr<proxy::EventLoop> loop;
  std::unique_ptr<cassette::CassetteWriter> writer;
  std::unique_ptr<proxy::RecordHandler> recorder;
  std::unique_ptr<replay::ReplayHandler> player;
  std::unique_ptr<AdminHandler> admin;
  std::unique_ptr<proxy::HttpServer> server;
};

std::string RecordStatsJson(const proxy::RecordStats& s, size_t in_flight) {
  nlohmann::json j = {{"forwarded", s.forwarded},       {"recorded", s.recorded},
                      {"truncated", s.truncated},       {"upstream_errors", s.upstream_errors},
                      {"write_errors", s.write_errors}, {"not_recorded", s.not_recorded},
                      {"in_flight", in_flight}};
  return j.dump();
}

Status BuildRuntime(const Plan& plan, Runtime* rt) {
  Result<std::unique_ptr<proxy::EventLoop>> loop = proxy::EventLoop::Create();
  if (!loop.ok()) return loop.status();
  rt->loop = std::move(*loop);

  Result<cassette::Redactor> redactor = cassette::Redactor::Create(plan.redaction);
  if (!redactor.ok()) return redactor.status();

  std::vector<cassette::Interaction> recorded;
  if (Replays(plan.mode) && (plan.mode == Mode::kReplay || FileExists(plan.cassette_path))) {
    cassette::ReadReport report;
    Result<cassette::Cassette> c = cassette::ReadCassette(plan.cassette_path, &report);
    if (!c.ok()) return c.status();
    for (const std::string& w : report.warnings) TD_LOG(kWarn) << w;
    recorded = std::move(c->interactions);
  }
  if (Records(plan.mode)) {
    auto open_mode = plan.append ? cassette::CassetteWriter::OpenMode::kAppend
                                 : cassette::CassetteWriter::OpenMode::kTruncate;
    Result<std::unique_ptr<cassette::CassetteWriter>> w =
        cassette::CassetteWriter::Open(plan.cassette_path, open_mode, plan.write);
    if (!w.ok()) return w.status();
    rt->writer = std::move(*w);
  }
  if (Forwards(plan.mode)) {
    if (plan.upstream_options.insecure) {
      TD_LOG(kWarn) << "TLS VERIFICATION IS OFF (--insecure-skip-verify): anyone on the path to "
                    << plan.upstream->ToString() << " can read and change this traffic";
    }
    proxy::RecordOptions ro;
    ro.upstream_url = *plan.upstream;
    ro.upstream = plan.upstream_options;
    ro.redactor = *redactor;
    ro.writer = rt->writer.get();  // null in passthrough: forward only
    ro.log_mode = std::string(ModeName(plan.mode));
    // Serialising and compressing a 100 KB agent turn takes milliseconds; off the loop, it does
    // not delay other streams (docs/performance.md, "Record path"). Flushed before Close().
    ro.write_on_worker = true;
    // Auto mode: what gets recorded becomes servable for the next identical request.
    ro.on_recorded = [rt](const cassette::Interaction& i) {
      if (rt->player) rt->player->AddInteraction(i);
    };
    Result<std::unique_ptr<proxy::RecordHandler>> rec =
        proxy::RecordHandler::Create(rt->loop.get(), std::move(ro));
    if (!rec.ok()) return rec.status();
    rt->recorder = std::move(*rec);
  }
  proxy::Handler* main_handler = rt->recorder.get();
  std::function<std::string()> stats = [] { return std::string("{}"); };
  if (Replays(plan.mode)) {
    Result<std::unique_ptr<replay::ReplayHandler>> player = replay::ReplayHandler::Create(
        std::move(recorded), plan.replay, *redactor, *rt->loop, rt->recorder.get());
    if (!player.ok()) return player.status();
    rt->player = std::move(*player);
    main_handler = rt->player.get();
    replay::ReplayHandler* p = rt->player.get();
    stats = [p] { return p->StatsJson(); };
  } else {
    proxy::RecordHandler* r = rt->recorder.get();
    stats = [r] { return RecordStatsJson(r->stats(), r->in_flight()); };
  }
  rt->admin = std::make_unique<AdminHandler>(std::string(ModeName(plan.mode)), main_handler,
                                             std::move(stats));
  Result<std::unique_ptr<proxy::HttpServer>> server =
      proxy::HttpServer::Create(rt->loop.get(), plan.server, rt->admin.get());
  if (!server.ok()) return server.status();
  rt->server = std::move(*server);
  return Status::Ok();
}

// Graceful shutdown: stop accepting, let in-flight responses finish within the grace period,
// then stop the loop. A second request to stop (a second Ctrl-C) stops at once.
class Shutdown {
 public:
  Shutdown(Runtime* rt, Micros grace_us) : rt_(rt), grace_us_(grace_us) {}

  void Begin(std::string_view why) {
    if (begun_) {
      TD_LOG(kWarn) << why << " again: stopping now";
      CutInFlight("stopped before its response ended");
      return;
    }
    begun_ = true;
    size_t active = rt_->server->active_exchanges();
    TD_LOG(kInfo) << why << ": stopping (" << active << " response"
                  << (active == 1 ? "" : "s") << " in flight)";
    rt_->server->StopAccepting();
    if (active == 0) {
      rt_->loop->Stop();
      return;
    }
    rt_->server->SetOnIdle([this] { rt_->loop->Stop(); });
    grace_timer_ = rt_->loop->RunAfter(grace_us_, [this] {
      TD_LOG(kWarn) << "grace period over: cutting " << rt_->server->active_exchanges()
                    << " response(s) still in flight";
      CutInFlight("grace period over at shutdown");
    });
  }

 private:
  // Records what was cut (truncated) before the loop stops, so no completed part is lost.
  void CutInFlight(const std::string& reason) {
    if (rt_->recorder) rt_->recorder->AbortAll(reason);
    rt_->loop->Stop();
  }

  Runtime* rt_;
  Micros grace_us_;
  bool begun_ = false;
  proxy::TimerHandle grace_timer_;
};

}  // namespace

int RunServe(const Config& config) {
  Result<Plan> plan = BuildPlan(config);
  if (!plan.ok()) {
    std::cerr << "tapedeck: " << plan.status().message() << "\n";
    return kExitUsage;
  }
  Runtime rt;
  Status built = BuildRuntime(*plan, &rt);
  if (!built.ok()) {
    std::cerr << "tapedeck: " << built.message() << "\n";
    return ExitCodeFor(built);
  }

  Shutdown shutdown(&rt, plan->grace_us);
  std::optional<ChildProcess> child;
  int child_exit = 0;
  bool child_done = false;
  for (int signo : {SIGINT, SIGTERM}) {
    Status s = rt.loop->OnSignal(signo, [&, signo] {
      if (child && !child_done) child->Signal(signo);  // exec: the child decides; we follow it
      shutdown.Begin(signo == SIGINT ? "interrupted" : "terminated");
    });
    if (!s.ok()) {
      std::cerr << "tapedeck: " << s.message() << "\n";
      return kExitProblem;
    }
  }

  std::string url = rt.server->url();
  TD_LOG(kInfo) << "mode=" << ModeName(plan->mode)
                << (plan->cassette_path.empty() ? "" : " cassette=" + plan->cassette_path)
                << (plan->upstream ? " upstream=" + plan->upstream->ToString() : "")
                << (Replays(plan->mode) ? " " + replay::FormatPlayOptions(plan->replay.play) : "");
  std::fprintf(stderr, "tapedeck listening on %s\n", url.c_str());
  std::fflush(stderr);

  if (plan->exec) {
    // SIGCHLD is watched before the child exists, so an instant exit is not missed.
    Status s = rt.loop->OnSignal(SIGCHLD, [&] {
      if (child && !child_done && child->Poll(&child_exit)) {
        child_done = true;
        shutdown.Begin("command exited");
      }
    });
    if (!s.ok()) {
      std::cerr << "tapedeck: " << s.message() << "\n";
      return kExitProblem;
    }
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
    Result<ChildProcess> spawned = ChildProcess::Spawn(
        plan->command, ChildEnvironment(env, url, plan->mode == Mode::kReplay));
    if (!spawned.ok()) {
      std::cerr << "tapedeck: " << spawned.status().message() << "\n";
      return kExitUsage;
    }
    child = *spawned;
    if (child->Poll(&child_exit)) {  // exited before the handler could see SIGCHLD
      child_done = true;
      shutdown.Begin("command exited");
    }
  }

  Status ran = rt.loop->Run();
  if (!ran.ok()) std::cerr << "tapedeck: " << ran.message() << "\n";
  if (child && !child_done) {
    // The loop stopped for another reason (a second signal): wait for the child all the same.
    child->Signal(SIGTERM);
    child_exit = child->Wait();
  }

  bool problem = false;
  if (rt.player) {
    replay::ReplayStats st = rt.player->Stats();
    TD_LOG(kInfo) << rt.player->Summary();
    problem = plan->strict && (st.misses > 0 || st.exhausted > 0 || !st.unused.empty());
    if (problem) {
      std::cerr << "tapedeck: strict replay failed: " << rt.player->Summary() << "\n";
    }
  }
  rt.server.reset();  // closes what is left (cut streams were recorded by Shutdown's AbortAll)
  int code = kExitOk;
  if (rt.recorder) rt.recorder->Flush();  // the writer thread's queue reaches the file
  if (rt.writer) {
    Status closed = rt.writer->Close();
    if (!closed.ok()) {
      std::cerr << "tapedeck: " << closed.message() << "\n";
      code = kExitCassette;
    } else {
      TD_LOG(kInfo) << "cassette " << rt.writer->path() << ": " << rt.writer->appended()
                    << " interaction(s) written";
    }
  }
  if (plan->exec) {
    if (child_exit != 0) return child_exit;
    if (problem) return kExitProblem;
    return code;
  }
  if (code != kExitOk) return code;
  return problem ? kExitProblem : kExitOk;
}

}  // namespace td::cli
