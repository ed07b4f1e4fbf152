// The serving modes. One function per step: validate everything the config says (exit 2 before
// anything listens), open the cassette (exit 3), build the handlers for the mode, listen, run
// the loop until a signal (or exec's child) ends it, then shut down gracefully and report.
#include "tools/serve.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cassette/base/log.h"
#include "cassette/codec.h"
#include "proxy/event_loop.h"
#include "proxy/http_server.h"
#include "proxy/record_handler.h"
#include "proxy/upstream_url.h"
#include "replay/replay_handler.h"
#include "tools/admin_handler.h"
#include "tools/ca_commands.h"
#include "tools/cassette_router.h"
#include "tools/cassette_slot.h"
#include "tools/child_process.h"
#include "tools/commands.h"
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
  std::string cassette_path;  // --cassette FILE
  std::string cassette_dir;   // --cassette-dir DIR
  // What every cassette of the run shares: the mode's parts, the write and read options, the
  // replay options, the redactor, --prune.
  SlotSettings slots;
  uint64_t max_body_bytes = 0;  // record: what is kept of a response body (--max-body-bytes)
  bool check_upstream = false;  // connect to the upstreams before listening (exit 4)
  // One unnamed upstream, or named ones (mounts); empty in replay.
  std::vector<proxy::UpstreamMount> upstreams;
  proxy::UpstreamOptions upstream_options;
  bool strict = false;
  Micros grace_us = 0;
  // --forward-proxy: the CA's folder is plan.server.forward_proxy.ca_dir.
  bool forward_proxy() const { return server.forward_proxy.enabled; }

  bool mounted() const { return !upstreams.empty() && !upstreams.front().name.empty(); }
  std::vector<std::string> MountNames() const {
    std::vector<std::string> names;
    if (mounted()) {
      for (const proxy::UpstreamMount& m : upstreams) names.push_back(m.name);
    }
    return names;
  }
  std::string UpstreamsText() const {
    std::string text;
    for (const proxy::UpstreamMount& m : upstreams) {
      text += (text.empty() ? "" : ",") + (m.name.empty() ? "" : m.name + "=") + m.url.ToString();
    }
    return text;
  }
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
  Result<replay::MatchOptions> match = config.Match();
  if (!match.ok()) return match.status();
  out->match = std::move(*match);

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

// --forward-proxy, --intercept, --ca-dir and --resolve (which also applies to the upstreams).
Status BuildForwardProxy(const Config& config, const std::vector<std::string>& env, Plan* plan) {
  proxy::ForwardProxyOptions& fp = plan->server.forward_proxy;
  for (const std::string& text : config.GetAll("resolve")) {
    Result<proxy::ResolveEntry> entry = proxy::ParseResolveEntry(text);
    if (!entry.ok()) return entry.status();
    fp.resolve.push_back(*entry);
  }
  plan->upstream_options.resolve = fp.resolve;
  const std::vector<std::string>& intercept = config.GetAll("intercept");
  fp.enabled = config.GetBool("forward-proxy");
  if (!fp.enabled) {
    if (!intercept.empty() || !config.Get("ca-dir").empty()) {
      return Fail("--intercept and --ca-dir are for --forward-proxy");
    }
    return Status::Ok();
  }
  if (!intercept.empty()) {
    for (const std::string& pattern : intercept) {
      TD_RETURN_IF_ERROR(proxy::ValidateInterceptPattern(pattern));
    }
    fp.intercept = intercept;
  }
  fp.tunnel_others = Forwards(plan->mode);
  Result<std::string> ca_dir = CaDirOf(config, env);
  if (!ca_dir.ok()) return ca_dir.status();
  fp.ca_dir = *ca_dir;
  return Status::Ok();
}

Result<Plan> BuildPlan(const Config& config, const std::vector<std::string>& env) {
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
  plan.slots.read = *read;

  if (plan.mode != Mode::kPassthrough) {
    plan.cassette_path = config.Get("cassette");
    plan.cassette_dir = config.Get("cassette-dir");
    if (!plan.cassette_path.empty() && !plan.cassette_dir.empty()) {
      return Fail("--cassette and --cassette-dir: choose one");
    }
    if (plan.cassette_path.empty() && plan.cassette_dir.empty()) {
      return Fail("--cassette FILE is required (or --cassette-dir DIR: a cassette per test)");
    }
  }
  TD_RETURN_IF_ERROR(BuildForwardProxy(config, env, &plan));
  const std::vector<std::string>& upstreams = config.GetAll("upstream");
  if (Forwards(plan.mode)) {
    if (upstreams.empty() && !plan.forward_proxy()) {
      return Fail("--upstream URL is required in " + std::string(ModeName(plan.mode)) +
                  " mode (e.g. --upstream https://api.anthropic.com, or one --upstream NAME=URL "
                  "per provider), unless tapedeck is a --forward-proxy");
    }
    for (const std::string& up : upstreams) {
      Result<proxy::UpstreamMount> mount = proxy::ParseUpstreamMount(up);
      if (!mount.ok()) return mount.status();
      for (const proxy::UpstreamMount& seen : plan.upstreams) {
        if (seen.name.empty() || mount->name.empty()) {
          return Fail(
              "--upstream: name every upstream (NAME=URL, one per provider) or give one "
              "unnamed URL");
        }
        if (seen.name == mount->name)
          return Fail("--upstream: mount /" + seen.name + " given twice");
      }
      plan.upstreams.push_back(std::move(*mount));
    }
    plan.upstream_options.ca_file = config.Get("upstream-ca");
    plan.upstream_options.insecure = config.GetBool("insecure-skip-verify");
    Result<std::int64_t> ct = ParseSeconds("connect-timeout", config.Get("connect-timeout"));
    if (!ct.ok()) return ct.status();
    Result<std::int64_t> rt = ParseSeconds("read-timeout", config.Get("read-timeout"));
    if (!rt.ok()) return rt.status();
    if (*ct == 0 || *rt == 0) return Fail("--connect-timeout and --read-timeout must be > 0");
    plan.upstream_options.connect_timeout_us = *ct;
    plan.upstream_options.read_timeout_us = *rt;
    plan.server.tunnel_connect_timeout_us = *ct;
    plan.check_upstream = !upstreams.empty() && !config.GetBool("no-upstream-check");
  } else if (!upstreams.empty() && plan.exec) {
    return Fail("--upstream is for --mode record or auto; replay never contacts a network");
  }
  Result<cassette::RedactionRules> rules = config.Redaction();
  if (!rules.ok()) return rules.status();
  Result<cassette::Redactor> redactor = cassette::Redactor::Create(*rules);
  if (!redactor.ok()) return redactor.status();
  SlotSettings& slots = plan.slots;
  slots.redactor = std::move(*redactor);
  slots.records = Records(plan.mode);
  slots.replays = Replays(plan.mode);
  slots.directory = !plan.cassette_dir.empty();
  const bool overwrite = config.GetBool("overwrite");
  const bool append = config.GetBool("append");
  slots.prune = config.GetBool("prune");
  if (overwrite && append) return Fail("--overwrite and --append: choose one");
  if ((overwrite || append) && plan.mode != Mode::kRecord) {
    return Fail(std::string(overwrite ? "--overwrite" : "--append") +
                " is for record mode (auto mode always adds to its cassette)");
  }
  if (slots.prune && plan.mode != Mode::kAuto) return Fail("--prune is for auto mode");
  if (Records(plan.mode)) {
    slots.write = config.Write();
    slots.write.mounts = plan.MountNames();
    Result<std::uint64_t> max_body = ParseByteSize("max-body-bytes", config.Get("max-body-bytes"));
    if (!max_body.ok()) return max_body.status();
    plan.max_body_bytes = *max_body;
    slots.existing = plan.mode == Mode::kAuto ? cassette::ExistingCassette::kAppend
                     : overwrite              ? cassette::ExistingCassette::kOverwrite
                     : append                 ? cassette::ExistingCassette::kAppend
                                              : cassette::ExistingCassette::kRefuse;
  }
  if (Replays(plan.mode)) {
    TD_RETURN_IF_ERROR(BuildReplayOptions(config, &slots.replay));
    slots.replay.log_mode = std::string(ModeName(plan.mode));
    plan.strict = config.GetBool("strict");
  }
  Result<std::int64_t> grace = ParseSeconds("grace-period", config.Get("grace-period"));
  if (!grace.ok()) return grace.status();
  plan.grace_us = *grace;
  return plan;
}

// The running pieces of one mode. Members are destroyed in reverse order of declaration, so
// keep this order: the server (which owns connections and their exchanges) goes first, then the
// admin handler, then the recorder (whose worker writes what is queued into the cassettes'
// files), then the cassettes, everything before the loop.
struct Runtime {
  std::unique_ptr<proxy::EventLoop> loop;
  // --cassette: made ready before the handlers exist; the router then owns it.
  std::unique_ptr<CassetteSlot> single;
  std::unique_ptr<CassetteRouter> router;  // none in passthrough
  std::unique_ptr<proxy::RecordHandler> recorder;
  std::unique_ptr<AdminHandler> admin;
  std::unique_ptr<proxy::HttpServer> server;
};

// Step 1: --cassette (record, auto): the lock, and a look at the cassette and at what an
// earlier run may have left; creates no file but the lock file. --cassette-dir: the folder
// (made in record and auto; in replay it must exist).
Status PrepareCassettes(const Plan& plan, Runtime* rt) {
  if (!plan.cassette_dir.empty()) {
    std::error_code ec;
    if (plan.slots.records) {
      std::filesystem::create_directories(plan.cassette_dir, ec);
      if (ec) return IoError("--cassette-dir " + plan.cassette_dir + ": " + ec.message());
    } else if (!std::filesystem::is_directory(plan.cassette_dir, ec)) {
      return IoError("--cassette-dir " + plan.cassette_dir + ": no such folder");
    }
    return Status::Ok();
  }
  if (plan.cassette_path.empty()) return Status::Ok();  // passthrough
  rt->single = std::make_unique<CassetteSlot>("", plan.cassette_path, &plan.slots);
  return rt->single->Prepare();
}

// Step 2: the loop and the handlers. Nothing listens yet and no cassette is open.
Status BuildHandlers(const Plan& plan, Runtime* rt) {
  Result<std::unique_ptr<proxy::EventLoop>> loop = proxy::EventLoop::Create();
  if (!loop.ok()) return loop.status();
  rt->loop = std::move(*loop);

  if (Forwards(plan.mode)) {
    if (plan.upstream_options.insecure) {
      TD_LOG(kWarn) << "TLS VERIFICATION IS OFF (--insecure-skip-verify): anyone on the path to "
                    << plan.UpstreamsText() << " can read and change this traffic";
    }
    proxy::RecordOptions ro;
    if (plan.mounted()) {
      ro.mounts = plan.upstreams;
    } else if (!plan.upstreams.empty()) {
      ro.upstream_url = plan.upstreams.front().url;
    }  // else a forward proxy alone: requests name their origin
    ro.upstream = plan.upstream_options;
    ro.redactor = plan.slots.redactor;
    ro.log_mode = std::string(ModeName(plan.mode));
    ro.max_body_bytes = plan.max_body_bytes;
    // Serialising and compressing a 100 KB agent turn takes milliseconds; off the loop, it does
    // not delay other streams (docs/performance.md, "Record path"). Flushed before the
    // cassettes close. Each cassette's recordings go to its own destination (CassetteSlot).
    ro.write_on_worker = true;
    Result<std::unique_ptr<proxy::RecordHandler>> rec =
        proxy::RecordHandler::Create(rt->loop.get(), std::move(ro));
    if (!rec.ok()) return rec.status();
    rt->recorder = std::move(*rec);
  }
  if (rt->single) {
    TD_RETURN_IF_ERROR(rt->single->Load(rt->loop.get(), rt->recorder.get()));
    rt->router = std::make_unique<CassetteRouter>(std::move(rt->single));
  } else if (!plan.cassette_dir.empty()) {
    CassetteRouter::DirectoryOptions directory;
    directory.dir = plan.cassette_dir;
    directory.settings = &plan.slots;
    directory.loop = rt->loop.get();
    directory.recorder = rt->recorder.get();
    rt->router = std::make_unique<CassetteRouter>(std::move(directory));
  }

  proxy::Handler* main_handler =
      rt->router ? static_cast<proxy::Handler*>(rt->router.get()) : rt->recorder.get();
  AdminHandler::Endpoints endpoints;
  if (CassetteRouter* router = rt->router.get()) {
    endpoints.stats = [router] { return router->StatsJson(); };
    if (router->directory()) {
      endpoints.select_cassette = [router](std::string_view n) { return router->SelectDefault(n); };
      endpoints.cassette_stats = [router](std::string_view n, bool unused_fails) {
        return router->CassetteStatsJson(n, unused_fails);
      };
    }
  } else {
    proxy::RecordHandler* r = rt->recorder.get();
    endpoints.stats = [r] { return RecordStatsJson(r->stats()); };
  }
  rt->admin = std::make_unique<AdminHandler>(std::string(ModeName(plan.mode)), main_handler,
                                             std::move(endpoints));
  return Status::Ok();
}

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

// Step 3 (record, auto, passthrough): connects to every upstream, TLS handshake and
// certificate included, before anything listens: a wrong URL, a dead host or a bad certificate
// is exit 4 at start rather than a 502 on the first request. The connections then serve the
// first requests. A signal during the check stops it (kFailedPrecondition).
Status CheckUpstreams(Runtime* rt) {
  proxy::RecordHandler& recorder = *rt->recorder;
  std::vector<std::optional<proxy::UpstreamResult>> results(recorder.upstream_count());
  size_t pending = results.size();
  std::vector<std::unique_ptr<proxy::UpstreamCall>> probes;
  for (size_t i = 0; i < results.size(); ++i) {
    probes.push_back(recorder.upstream(i).Probe([&, i](const proxy::UpstreamResult& r) {
      results[i] = r;
      if (--pending == 0 || !r.ok()) rt->loop->Stop();
    }));
  }
  TD_RETURN_IF_ERROR(rt->loop->Run());
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i] && !results[i]->ok()) {
      const proxy::UpstreamMount& mount = recorder.mount(i);
      return UnavailableError("upstream " + (mount.name.empty() ? "" : "/" + mount.name + " ") +
                              mount.url.ToString() + " is unreachable: " + results[i]->message +
                              " (--no-upstream-check starts without this check)");
    }
  }
  if (pending != 0) return FailedPreconditionError("stopped while checking the upstream");
  return Status::Ok();
}

// Step 4: binds the listen address (exit 5).
Status Listen(const Plan& plan, Runtime* rt) {
  proxy::ServerOptions options = plan.server;
  // Forward-proxy mode: plain http:// requests to hosts not intercepted are forwarded without a
  // recording by the record handler's own (cassette-less) destination; replay refuses them.
  options.forward_proxy.unrecorded = rt->recorder.get();
  Result<std::unique_ptr<proxy::HttpServer>> server =
      proxy::HttpServer::Create(rt->loop.get(), std::move(options), rt->admin.get());
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

// What exec's child is told: the mounts of the run (record, auto), or those the cassette's
// header lists (replay of one --cassette).
std::vector<std::string> ChildMounts(const Plan& plan, Runtime* rt) {
  if (plan.mounted()) return plan.MountNames();
  if (plan.mode == Mode::kReplay && rt->router && rt->router->single()) {
    return rt->router->single()->mounts();
  }
  return {};
}

// The header's "recorded_by" for what this run writes. exec also says what its command runs
// in (the working directory, HOME, the user, the temp directory), so a replay elsewhere can
// tell the recording's paths from its own.
cassette::Provenance RecordedBy(const Plan& plan, const std::vector<std::string>& env) {
  cassette::Provenance p;
  p.tapedeck = std::string(Version());
  p.mode = (plan.exec ? "exec " : "") + std::string(ModeName(plan.mode)) +
           (plan.forward_proxy() ? " --forward-proxy" : "");
  for (const proxy::UpstreamMount& m : plan.upstreams) {
    p.upstreams.emplace_back(m.name, m.url.ToString());
  }
  if (plan.exec) {
    const ChildWorkspace workspace = WorkspaceOf(env);
    p.cwd = workspace.cwd;
    p.home = workspace.home;
    p.user = workspace.user;
    p.tmp = workspace.tmp;
  }
  return p;
}

// Where this run replays, for the workspace normalisers (docs/matching.md, "Cassettes that move
// between checkouts"): exec always (what its command runs in), replay and auto with --preset
// agent-cli (tapedeck's own working directory, HOME, user and temp directory). Each cassette
// then adds where it was recorded (CassetteSlot::Load).
std::optional<replay::Workspace> LiveWorkspace(const Plan& plan, const Config& config,
                                               const std::vector<std::string>& env) {
  if (!plan.slots.replays) return std::nullopt;
  const std::vector<std::string>& presets = config.GetAll("preset");
  if (!plan.exec && std::find(presets.begin(), presets.end(), "agent-cli") == presets.end()) {
    return std::nullopt;
  }
  const ChildWorkspace w = WorkspaceOf(env);
  return replay::Workspace{w.cwd, w.home, w.user, w.tmp};
}

}  // namespace

int RunServe(const Config& config, const std::vector<std::string>& env) {
  Result<Plan> plan = BuildPlan(config, env);
  if (!plan.ok()) {
    std::cerr << "tapedeck: " << plan.status().message() << "\n";
    return kExitUsage;
  }
  if (plan->slots.records) plan->slots.write.recorded_by = RecordedBy(*plan, env);
  plan->slots.replay.match.live_workspace = LiveWorkspace(*plan, config, env);
  auto fail = [](const Status& status, int code) {
    std::cerr << "tapedeck: " << status.message() << "\n";
    return code;
  };
  // A write past RLIMIT_FSIZE must fail with EFBIG (and be reported), not kill the process.
  ::signal(SIGXFSZ, SIG_IGN);

  Runtime rt;
  Status prepared = PrepareCassettes(*plan, &rt);
  if (!prepared.ok()) return fail(prepared, ExitCodeFor(prepared));
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
    Status reachable = CheckUpstreams(&rt);
    if (shutdown.begun()) return kExitProblem;
    if (!reachable.ok()) return fail(reachable, kExitUpstream);
  }
  std::optional<TrustFiles> trust;
  if (plan->forward_proxy()) {
    Result<TrustFiles> files = EnsureLocalCa(plan->server.forward_proxy.ca_dir);
    if (!files.ok()) return fail(files.status().WithContext("--forward-proxy"), kExitCassette);
    trust = *files;
  }
  Status listening = Listen(*plan, &rt);
  if (!listening.ok()) return fail(listening, kExitListen);
  if (CassetteSlot* single = rt.router ? rt.router->single() : nullptr) {
    Status opened = single->Open();
    if (!opened.ok()) return fail(opened, ExitCodeFor(opened));
  }

  std::string url = rt.server->url();
  TD_LOG(kInfo) << "mode=" << ModeName(plan->mode)
                << (plan->cassette_path.empty() ? "" : " cassette=" + plan->cassette_path)
                << (plan->cassette_dir.empty() ? "" : " cassette_dir=" + plan->cassette_dir)
                << (plan->upstreams.empty() ? "" : " upstream=" + plan->UpstreamsText())
                << (plan->forward_proxy() ? " forward_proxy=on ca=" + trust->ca_cert : "")
                << (Replays(plan->mode) ? " " + replay::FormatPlayOptions(plan->slots.replay.play)
                                        : "");
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
    std::optional<ChildProxy> proxy_env;
    if (trust) proxy_env = ChildProxy{url, trust->ca_cert, trust->bundle};
    Result<ChildProcess> spawned = ChildProcess::Spawn(
        plan->command,
        ChildEnvironment(env, url, ChildMounts(*plan, &rt), proxy_env ? &*proxy_env : nullptr),
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
  const int cassette_code =
      rt.router ? rt.router->Finish(plan->strict, &problem, std::cerr) : kExitOk;
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
