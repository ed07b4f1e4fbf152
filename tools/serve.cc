// The serving modes. One function per step: validate everything the config says (exit 2 before
// anything listens), open the cassette (exit 3), build the handlers for the mode, listen, run
// the loop until a signal (or exec's child) ends it, then shut down gracefully and report.
#include "tools/serve.h"

#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cassette/base/log.h"
#include "cassette/cassette_writer.h"
#include "cassette/codec.h"
#include "cassette/record_target.h"
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
    case Mode::kRecord:
      return "record";
    case Mode::kReplay:
      return "replay";
    case Mode::kAuto:
      return "auto";
    case Mode::kPassthrough:
      return "passthrough";
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
  cassette::ReadOptions read;   // every read of a cassette (--max-line-bytes)
  uint64_t max_body_bytes = 0;  // record: what is kept of a response body (--max-body-bytes)
  // What a recording does with a cassette that already holds interactions.
  cassette::ExistingCassette existing = cassette::ExistingCassette::kRefuse;
  bool prune = false;           // auto: drop unused interactions on a clean close
  bool check_upstream = false;  // connect to the upstream before listening (exit 4)
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
    case kRecord:
      return Mode::kRecord;
    case kReplay:
      return Mode::kReplay;
    case kAuto:
      return Mode::kAuto;
    case kPassthrough:
      return Mode::kPassthrough;
    case kExec: {
      const std::string& m = config.Get("mode");
      if (m == "replay") return Mode::kReplay;
      if (m == "record") return Mode::kRecord;
      if (m == "auto") return Mode::kAuto;
      return Fail("--mode \"" + m + "\": expected replay, record or auto");
    }
    default:
      return Fail("not a serving command");
  }
}

Status BuildReplayOptions(const Config& config, replay::ReplayOptions* out) {
  replay::MatchOptions match;
  for (const std::string& p : config.GetAll("preset")) {
    Result<replay::MatchOptions> m = replay::ApplyPreset(p, std::move(match));
    if (!m.ok()) return m.status().WithContext("--preset");
    match = std::move(*m);
  }
  for (const std::string& p : config.GetAll("ignore-json-path"))
    match.ignore_json_paths.push_back(p);
  for (const std::string& h : config.GetAll("ignore-header")) match.ignore_headers.push_back(h);
  for (const std::string& h : config.GetAll("match-header")) match.match_headers.push_back(h);
  for (const std::string& q : config.GetAll("ignore-query-param"))
    match.ignore_query_params.push_back(q);
  for (const std::string& n : config.GetAll("normalize")) {
    Result<replay::Normalizer> norm = replay::ParseNormalizer(n);
    if (!norm.ok()) return norm.status().WithContext("--normalize");
    match.normalizers.push_back(std::move(*norm));
  }
  // Compile once here so a bad regex or path fails at start, not on the first request.
  Result<replay::RequestNormalizer> check = replay::RequestNormalizer::Create(match);
  if (!check.ok()) return check.status();
  out->match = std::move(match);

  Result<replay::Pace> timing = replay::ParseTiming(config.Get("timing"));
  if (!timing.ok()) return timing.status();
  Result<replay::Chunking> chunking = replay::ParseChunking(config.Get("chunking"));
  if (!chunking.ok()) return chunking.status();
  Result<replay::Fault> fault = replay::ParseFault(config.Get("fault"));
  if (!fault.ok()) return fault.status();
  out->play = replay::PlayOptions{*timing, *chunking, *fault};

  Result<replay::OnExhausted> exhausted = replay::ParseOnExhausted(config.Get("on-exhausted"));
  if (!exhausted.ok()) return exhausted.status();
  out->on_exhausted = *exhausted;
  return Status::Ok();
}

// The listener's limits on slow and greedy clients (proxy/http_server.h, ServerLimits).
Status BuildServerLimits(const Config& config, proxy::ServerLimits* limits) {
  Result<std::int64_t> head = ParseSeconds("head-timeout", config.Get("head-timeout"));
  if (!head.ok()) return head.status();
  Result<std::int64_t> body = ParseSeconds("body-timeout", config.Get("body-timeout"));
  if (!body.ok()) return body.status();
  Result<std::int64_t> idle = ParseSeconds("idle-timeout", config.Get("idle-timeout"));
  if (!idle.ok()) return idle.status();
  if (*idle == 0) return Fail("--idle-timeout must be > 0");
  Result<std::uint64_t> cap =
      ParseCount("max-connections-per-client", config.Get("max-connections-per-client"));
  if (!cap.ok()) return cap.status();
  limits->head_timeout_us = *head;
  limits->body_timeout_us = *body;
  limits->idle_timeout_us = *idle;
  limits->max_connections_per_client = static_cast<size_t>(*cap);
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

  TD_RETURN_IF_ERROR(BuildServerLimits(config, &plan.server.limits));
  Result<cassette::ReadOptions> read = config.Read();
  if (!read.ok()) return read.status();
  plan.read = *read;

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
    plan.check_upstream = !config.GetBool("no-upstream-check");
  } else if (!config.Get("upstream").empty() && plan.exec) {
    return Fail("--upstream is for --mode record or auto; replay never contacts a network");
  }
  Result<cassette::RedactionRules> rules = config.Redaction();
  if (!rules.ok()) return rules.status();
  plan.redaction = std::move(*rules);
  const bool overwrite = config.GetBool("overwrite");
  const bool append = config.GetBool("append");
  plan.prune = config.GetBool("prune");
  if (overwrite && append) return Fail("--overwrite and --append: choose one");
  if ((overwrite || append) && plan.mode != Mode::kRecord) {
    return Fail(std::string(overwrite ? "--overwrite" : "--append") +
                " is for record mode (auto mode always adds to its cassette)");
  }
  if (plan.prune && plan.mode != Mode::kAuto) return Fail("--prune is for auto mode");
  if (Records(plan.mode)) {
    plan.write = config.Write();
    Result<std::uint64_t> max_body = ParseByteSize("max-body-bytes", config.Get("max-body-bytes"));
    if (!max_body.ok()) return max_body.status();
    plan.max_body_bytes = *max_body;
    plan.existing = plan.mode == Mode::kAuto ? cassette::ExistingCassette::kAppend
                    : overwrite              ? cassette::ExistingCassette::kOverwrite
                    : append                 ? cassette::ExistingCassette::kAppend
                                             : cassette::ExistingCassette::kRefuse;
  }
  if (Replays(plan.mode)) {
    TD_RETURN_IF_ERROR(BuildReplayOptions(config, &plan.replay));
    plan.replay.log_mode = std::string(ModeName(plan.mode));
    plan.strict = config.GetBool("strict");
  }
  Result<std::int64_t> grace = ParseSeconds("grace-period", config.Get("grace-period"));
  if (!grace.ok()) return grace.status();
  plan.grace_us = *grace;
  return plan;
}

// The running pieces of one mode. Members are destroyed in reverse order of declaration, so
// keep this order: the server (which owns connections and their exchanges) goes before the
// handlers, the handlers before the cassette target (whose writer they use), everything before
// the loop.
struct Runtime {
  std::unique_ptr<proxy::EventLoop> loop;
  std::optional<cassette::RecordTarget> target;  // record, auto: the lock and the file written
  // Auto mode, for --prune: each interaction the player serves, by index, and its position in
  // the cassette file (none when its Append failed).
  std::vector<std::optional<size_t>> file_position;
  size_t file_interactions = 0;
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

// Step 1 (record, auto): the lock, and a look at the cassette and at what an earlier run may
// have left. Creates no file but the lock file.
Status PrepareTarget(const Plan& plan, Runtime* rt) {
  Result<cassette::RecordTarget> target =
      cassette::RecordTarget::Prepare(plan.cassette_path, plan.existing, plan.write, plan.read);
  if (!target.ok()) return target.status();
  for (const std::string& note : target->notes()) TD_LOG(kWarn) << note;
  rt->target = std::move(*target);
  return Status::Ok();
}

// Step 2: the loop and the handlers. Nothing listens yet and no cassette is open.
Status BuildHandlers(const Plan& plan, Runtime* rt) {
  Result<std::unique_ptr<proxy::EventLoop>> loop = proxy::EventLoop::Create();
  if (!loop.ok()) return loop.status();
  rt->loop = std::move(*loop);

  Result<cassette::Redactor> redactor = cassette::Redactor::Create(plan.redaction);
  if (!redactor.ok()) return redactor.status();

  std::vector<cassette::Interaction> recorded;
  if (plan.mode == Mode::kReplay) {
    if (std::optional<std::string> note =
            cassette::UnfinishedRecordingNote(plan.cassette_path, plan.read)) {
      TD_LOG(kWarn) << *note;
    }
    cassette::ReadReport report;
    Result<cassette::Cassette> c = cassette::ReadCassette(plan.cassette_path, plan.read, &report);
    if (!c.ok()) return c.status();
    for (const std::string& w : report.warnings) TD_LOG(kWarn) << w;
    recorded = std::move(c->interactions);
  } else if (plan.mode == Mode::kAuto) {
    if (std::optional<cassette::Cassette> c = rt->target->TakeExisting()) {
      recorded = std::move(c->interactions);
    }
    rt->file_interactions = recorded.size();
    for (size_t i = 0; i < recorded.size(); ++i) rt->file_position.push_back(i);
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
    ro.log_mode = std::string(ModeName(plan.mode));
    ro.max_body_bytes = plan.max_body_bytes;
    // Serialising and compressing a 100 KB agent turn takes milliseconds; off the loop, it does
    // not delay other streams (docs/performance.md, "Record path"). Flushed before Close().
    ro.write_on_worker = true;
    // Auto mode: what gets recorded is served to the next identical request, and counts as
    // used. (Record mode sets no callback, so the writer may consume each interaction.)
    if (plan.mode == Mode::kAuto) {
      ro.on_recorded = [rt](const cassette::Interaction& i, bool saved) {
        rt->player->AddInteraction(i, /*recorded=*/true);
        rt->file_position.push_back(saved ? std::optional<size_t>(rt->file_interactions++)
                                          : std::nullopt);
      };
    }
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
  return Status::Ok();
}

// Graceful shutdown: stop accepting, let in-flight responses finish within the grace period,
// then stop the loop. A second request to stop (a second Ctrl-C) stops at once. Before the
// server exists (during the upstream check) it only stops the loop.
class Shutdown {
 public:
  Shutdown(Runtime* rt, Micros grace_us) : rt_(rt), grace_us_(grace_us) {}

  void Begin(std::string_view why) {
    if (!rt_->server) {
      begun_ = true;
      rt_->loop->Stop();
      return;
    }
    if (begun_) {
      TD_LOG(kWarn) << why << " again: stopping now";
      CutInFlight("stopped before its response ended");
      return;
    }
    begun_ = true;
    size_t active = rt_->server->active_exchanges();
    TD_LOG(kInfo) << why << ": stopping (" << active << " response" << (active == 1 ? "" : "s")
                  << " in flight)";
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

  bool begun() const { return begun_; }

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

// Step 3 (record, auto, passthrough): connects to the upstream, TLS handshake and certificate
// included, before anything listens: a wrong URL, a dead host or a bad certificate is exit 4
// at start rather than a 502 on the first request. The connection then serves that request.
// A signal during the check stops it (kFailedPrecondition).
Status CheckUpstream(const Plan& plan, Runtime* rt) {
  std::optional<proxy::UpstreamResult> result;
  std::unique_ptr<proxy::UpstreamCall> probe =
      rt->recorder->upstream().Probe([&](const proxy::UpstreamResult& r) {
        result = r;
        rt->loop->Stop();
      });
  TD_RETURN_IF_ERROR(rt->loop->Run());
  if (!result) return FailedPreconditionError("stopped while checking the upstream");
  if (!result->ok()) {
    return UnavailableError("upstream " + plan.upstream->ToString() + " is unreachable: " +
                            result->message + " (--no-upstream-check starts without this check)");
  }
  return Status::Ok();
}

// Step 4: binds the listen address (exit 5).
Status Listen(const Plan& plan, Runtime* rt) {
  Result<std::unique_ptr<proxy::HttpServer>> server =
      proxy::HttpServer::Create(rt->loop.get(), plan.server, rt->admin.get());
  if (!server.ok()) {
    return server.status()
        .WithContext("cannot listen")
        .WithContext(plan.exec
                         ? "exec"
                         : "--listen " + plan.server.host + ":" + std::to_string(plan.server.port) +
                               " (--listen 127.0.0.1:0 takes a free port)");
  }
  rt->server = std::move(*server);
  return Status::Ok();
}

// Step 5 (record, auto): creates the file the run writes and hands its writer to the recorder.
Status OpenCassette(Runtime* rt) {
  Result<cassette::CassetteWriter*> writer = rt->target->Open();
  if (!writer.ok()) return writer.status();
  rt->recorder->AttachWriter(*writer);
  return Status::Ok();
}

// auto --prune, after a clean commit: keeps, in their order, the interactions this run used
// (what it recorded included) and rewrites the cassette atomically, under the lock.
Status Prune(const Plan& plan, Runtime* rt, std::string* summary) {
  const std::string& path = rt->target->path();
  cassette::ReadReport report;
  Result<cassette::Cassette> c = cassette::ReadCassette(path, plan.read, &report);
  if (!c.ok()) return c.status().WithContext("--prune");
  if (c->interactions.size() != rt->file_interactions) {
    return FailedPreconditionError("--prune: cassette " + path + " holds " +
                                   std::to_string(c->interactions.size()) +
                                   " interactions where this run expected " +
                                   std::to_string(rt->file_interactions) + "; left as it is");
  }
  std::vector<bool> used(c->interactions.size(), false);
  const replay::ReplayStats stats = rt->player->Stats();
  for (size_t i = 0; i < stats.uses.size() && i < rt->file_position.size(); ++i) {
    if (stats.uses[i] > 0 && rt->file_position[i]) used[*rt->file_position[i]] = true;
  }
  cassette::Cassette kept;
  kept.created_at_us = c->created_at_us;
  std::string dropped;
  for (size_t i = 0; i < c->interactions.size(); ++i) {
    if (used[i]) {
      kept.interactions.push_back(std::move(c->interactions[i]));
    } else {
      dropped += (dropped.empty() ? "#" : ", #") + std::to_string(i);
    }
  }
  if (dropped.empty()) {
    *summary = "cassette " + path + ": every interaction was used; nothing to prune";
    return Status::Ok();
  }
  TD_RETURN_IF_ERROR(rt->target->Rewrite(kept).WithContext("--prune"));
  *summary = "cassette " + path + ": pruned " +
             std::to_string(c->interactions.size() - kept.interactions.size()) +
             " unused interaction(s) (" + dropped + "); " +
             std::to_string(kept.interactions.size()) + " kept";
  return Status::Ok();
}

// The end of a recording: commits the cassette, says what was lost if anything was, prunes.
// Returns the exit code for the cassette (kExitOk or kExitCassette).
int FinishCassette(const Plan& plan, Runtime* rt) {
  const proxy::RecordStats& stats = rt->recorder->stats();
  const uint64_t lost = stats.write_errors + stats.not_recorded;
  std::string summary;
  Status committed = rt->target->Commit(&summary);
  if (lost > 0) {
    std::cerr << "tapedeck: " << lost << " interaction" << (lost == 1 ? " was" : "s were")
              << " not saved to " << plan.cassette_path;
    if (stats.not_recorded > 0) {
      std::cerr << " (" << stats.not_recorded
                << " withheld: a secret-shaped value could not be masked)";
    }
    std::cerr << (committed.ok() ? "" : ": " + committed.message()) << "\n";
    return kExitCassette;
  }
  if (!committed.ok()) {
    std::cerr << "tapedeck: " << committed.message() << "\n";
    return kExitCassette;
  }
  TD_LOG(kInfo) << summary;
  if (plan.prune && rt->player) {
    Status pruned = Prune(plan, rt, &summary);
    if (!pruned.ok()) {
      std::cerr << "tapedeck: " << pruned.message() << "\n";
      return kExitCassette;
    }
    TD_LOG(kInfo) << summary;
  }
  return kExitOk;
}

}  // namespace

int RunServe(const Config& config, const std::vector<std::string>& env) {
  Result<Plan> plan = BuildPlan(config);
  if (!plan.ok()) {
    std::cerr << "tapedeck: " << plan.status().message() << "\n";
    return kExitUsage;
  }
  auto fail = [](const Status& status, int code) {
    std::cerr << "tapedeck: " << status.message() << "\n";
    return code;
  };
  // A write past RLIMIT_FSIZE must fail with EFBIG (and be reported), not kill the process.
  ::signal(SIGXFSZ, SIG_IGN);

  Runtime rt;
  if (Records(plan->mode)) {
    Status prepared = PrepareTarget(*plan, &rt);
    if (!prepared.ok()) return fail(prepared, ExitCodeFor(prepared));
  }
  Status built = BuildHandlers(*plan, &rt);
  if (!built.ok()) return fail(built, ExitCodeFor(built));

  Shutdown shutdown(&rt, plan->grace_us);
  std::optional<ChildProcess> child;
  int child_exit = 0;
  bool child_done = false;
  for (int signo : {SIGINT, SIGTERM}) {
    Status s = rt.loop->OnSignal(signo, [&, signo] {
      if (child && !child_done) child->Signal(signo);  // exec: the child decides; we follow it
      shutdown.Begin(signo == SIGINT ? "interrupted" : "terminated");
    });
    if (!s.ok()) return fail(s, kExitProblem);
  }

  if (plan->check_upstream) {
    Status reachable = CheckUpstream(*plan, &rt);
    if (shutdown.begun()) return kExitProblem;
    if (!reachable.ok()) return fail(reachable, kExitUpstream);
  }
  Status listening = Listen(*plan, &rt);
  if (!listening.ok()) return fail(listening, kExitListen);
  if (rt.target) {
    Status opened = OpenCassette(&rt);
    if (!opened.ok()) return fail(opened, ExitCodeFor(opened));
  }

  std::string url = rt.server->url();
  TD_LOG(kInfo) << "mode=" << ModeName(plan->mode)
                << (plan->cassette_path.empty() ? "" : " cassette=" + plan->cassette_path)
                << (plan->upstream ? " upstream=" + plan->upstream->ToString() : "")
                << (Replays(plan->mode) ? " " + replay::FormatPlayOptions(plan->replay.play) : "");
  const LogField listening_fields[] = {{"event", "listening"}, {"url", url}};
  WriteNotice("tapedeck listening on " + url, listening_fields);

  int start_failure = kExitOk;
  if (plan->exec) {
    // SIGCHLD is watched before the child exists, so an instant exit is not missed.
    Status s = rt.loop->OnSignal(SIGCHLD, [&] {
      if (child && !child_done && child->Poll(&child_exit)) {
        child_done = true;
        shutdown.Begin("command exited");
      }
    });
    if (!s.ok()) return fail(s, kExitProblem);
    Result<ChildProcess> spawned = ChildProcess::Spawn(plan->command, ChildEnvironment(env, url),
                                                       proxy::EventLoop::OriginalOpenFileLimit());
    if (!spawned.ok()) {
      // Nothing ran: stop at once (the cassette is left as it was).
      std::cerr << "tapedeck: " << spawned.status().message() << "\n";
      start_failure =
          spawned.status().code() == StatusCode::kNotFound ? kExitNotFound : kExitCannotRun;
      shutdown.Begin("command did not start");
    } else {
      child = *spawned;
      if (child->Poll(&child_exit)) {  // exited before the handler could see SIGCHLD
        child_done = true;
        shutdown.Begin("command exited");
      }
    }
  }

  Status ran = rt.loop->Run();
  if (!ran.ok()) std::cerr << "tapedeck: " << ran.message() << "\n";
  if (child && !child_done) {
    // The loop stopped for another reason (a second signal): wait for the child all the same.
    child->Signal(SIGTERM);
    child_exit = child->Wait();
  }

  rt.server.reset();  // closes what is left (cut streams were recorded by Shutdown's AbortAll)
  if (rt.recorder) rt.recorder->Flush();  // every interaction written, its result delivered
  bool problem = false;
  if (rt.player) {
    TD_LOG(kInfo) << rt.player->Summary();
    problem = plan->strict && rt.player->StrictProblem(/*unused_ok=*/plan->prune);
    if (problem) {
      std::cerr << "tapedeck: strict replay failed: " << rt.player->Summary() << "\n";
    }
  }
  const int cassette_code = rt.target ? FinishCassette(*plan, &rt) : kExitOk;
  if (start_failure != kExitOk) return start_failure;
  if (plan->exec) {
    if (child_exit != 0) return child_exit;
    if (cassette_code != kExitOk) return cassette_code;
    return problem ? kExitProblem : kExitOk;
  }
  if (cassette_code != kExitOk) return cassette_code;
  return problem ? kExitProblem : kExitOk;
}

}  // namespace td::cli
