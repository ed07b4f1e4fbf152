"""pytest_tapedeck: a tapedeck cassette per test, for suites that call LLM APIs.

One `tapedeck replay|record|auto --cassette-dir DIR` serves the session (one per xdist worker),
started at the first test that uses it. Each test using the `tapedeck` fixture or the
`@pytest.mark.tapedeck` marker gets its own cassette, named from its node id, and the SDKs' base
URLs pointing at it; when the test's body ends, tapedeck's verdict on that cassette
(GET /__tapedeck/stats/NAME) fails the test if it missed. docs/pytest.md is the manual.
"""

from __future__ import annotations

import collections
import hashlib
import http.client
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.parse
from typing import Dict, List, Optional

import pytest

__all__ = ["TapedeckCassette", "cassette_name_for", "validate_cassette_name"]

MODES = ("replay", "record", "auto")
DEFAULT_UPSTREAMS = (
    "anthropic=https://api.anthropic.com",
    "openai=https://api.openai.com",
    "gemini=https://generativelanguage.googleapis.com",
)
# What `tapedeck exec` puts in an unset key variable in replay: the SDKs refuse to start without
# some key, and a replaying tapedeck needs none (tools/child_process.h, kPlaceholderKey).
PLACEHOLDER_KEY = "tapedeck-placeholder-key"
MAX_NAME_BYTES = 200  # tapedeck's limit on a cassette name (tools/cassette_router.cc)

_STOP_TIMEOUT = 30.0  # seconds; tapedeck's default --grace-period is 10
_STATS_TIMEOUT = 30.0  # seconds
_TAIL_LINES = 8  # the last lines of tapedeck's output an error message shows
_NOTABLE_LINES = 20  # and its last warnings and errors, however long ago
_EXIT_MEANINGS = {
    1: "strict problems: a miss or an unused interaction",
    2: "a usage error: a bad flag or value",
    3: "a cassette could not be read, used or written",
    4: "an upstream was unreachable at start",
    5: "the listen address could not be bound",
}
_MOUNT_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_SEGMENT_RE = re.compile(r"[A-Za-z0-9._-]+")
_NOT_NAME_CHAR_RE = re.compile(r"[^A-Za-z0-9._-]")

_STATE = pytest.StashKey["_Tapedeck"]()
_BINDING = pytest.StashKey["TapedeckCassette"]()
_MARKER_HELP = (
    "tapedeck(cassette=None): serve this test from its own tapedeck cassette (named from the "
    "node id unless cassette= names it) and point ANTHROPIC_BASE_URL, OPENAI_BASE_URL and "
    "GOOGLE_GEMINI_BASE_URL at it; see docs/pytest.md"
)


# ------------------------------------------------------------------------------------------------
# Cassette names.


def validate_cassette_name(name: str) -> Optional[str]:
    """Returns why `name` is not a valid tapedeck cassette name, or None when it is one.

    The rule is tapedeck's (docs/suites.md): segments of letters, digits, '.', '_' and '-'
    joined by single '/', no '.' or '..' segment, at most 200 bytes.
    """
    if not isinstance(name, str) or not name:
        return "empty"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"longer than {MAX_NAME_BYTES} bytes"
    for segment in name.split("/"):
        if not segment:
            return "has an empty segment (a leading, trailing or doubled '/')"
        if segment in (".", ".."):
            return "has a '.' or '..' segment"
        if not _SEGMENT_RE.fullmatch(segment):
            return "may hold only letters, digits, '.', '_', '-' and '/'"
    return None


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _clean_segment(segment: str) -> "tuple[str, bool]":
    """The segment with each character tapedeck does not allow replaced by '-', and whether
    anything was lost."""
    cleaned = _NOT_NAME_CHAR_RE.sub("-", segment)
    if cleaned in ("", ".", ".."):
        cleaned = "_" * max(1, len(cleaned))
    return cleaned, cleaned != segment


def cassette_name_for(nodeid: str) -> str:
    """The cassette name of the test with this node id, e.g. `tests/test_chat.py::TestChat::
    test_reply[gpt-4o]` -> `tests/test_chat/TestChat/test_reply-gpt-4o`.

    The file path loses its `.py`, each `::` becomes `/`, and a parameter id `[ID]` becomes
    `-ID`. When a character had to be replaced (anything but letters, digits, '.', '_', '-') the
    name ends in `-` and 8 hex digits of a hash of the node id, so two ids that differ only there
    still get two names; a name longer than 200 bytes is cut and ends in that hash too.
    """
    path, sep, rest = nodeid.partition("::")
    names, params = rest, None
    if sep and "[" in rest:
        names, _, params = rest.partition("[")
        if params.endswith("]"):
            params = params[:-1]
    lossy = False
    segments: List[str] = []
    path_parts = path.split("/")
    if path_parts[-1].endswith(".py") and len(path_parts[-1]) > 3:
        path_parts[-1] = path_parts[-1][:-3]
    parts = path_parts + (names.split("::") if sep else [])
    for part in parts:
        cleaned, lost = _clean_segment(part)
        segments.append(cleaned)
        lossy = lossy or lost
    if params is not None:  # after "NAME-", even "" or ".." makes a valid segment
        cleaned = _NOT_NAME_CHAR_RE.sub("-", params)
        segments[-1] += "-" + cleaned
        lossy = lossy or cleaned != params
    name = "/".join(segments)
    if lossy or len(name) > MAX_NAME_BYTES:
        suffix = "-" + _short_hash(nodeid)
        name = name[: MAX_NAME_BYTES - len(suffix)].rstrip("/") + suffix
    return name


# ------------------------------------------------------------------------------------------------
# Settings.


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tapedeck", "tapedeck: a recorded LLM API per test (docs/pytest.md)")
    group.addoption(
        "--tapedeck-mode",
        choices=MODES,
        default=None,
        help="replay (default; never contacts a network), record (re-record the tests that run, "
        "replacing their cassettes) or auto (replay what is recorded, record the rest). "
        "Default: $TAPEDECK_MODE, else replay.",
    )
    group.addoption(
        "--tapedeck-bin",
        default=None,
        metavar="PATH",
        help="the tapedeck binary. Default: $TAPEDECK_BIN, else `tapedeck` on PATH.",
    )
    group.addoption(
        "--tapedeck-cassette-dir",
        default="tests/cassettes",
        metavar="DIR",
        help="the cassette folder, relative to the rootdir (default tests/cassettes).",
    )
    group.addoption(
        "--tapedeck-upstream",
        action="append",
        default=None,
        metavar="NAME=URL",
        help="record and auto: mount this upstream at /NAME (repeatable). Default: "
        "$TAPEDECK_UPSTREAM (comma-separated or a JSON array), else the Anthropic, OpenAI and "
        "Gemini APIs.",
    )
    group.addoption(
        "--tapedeck-timing",
        default="instant",
        metavar="MODE",
        help="replay and auto: tapedeck's --timing (instant, recorded or a speed factor; "
        "default instant).",
    )
    group.addoption(
        "--tapedeck-fail-on-unused",
        action="store_true",
        default=False,
        help="also fail a test that left some of its recorded interactions unused.",
    )
    group.addoption(
        "--tapedeck-start-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long tapedeck may take to listen (default 60; record and auto first connect "
        "to each upstream).",
    )
    group.addoption(
        "--tapedeck-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="pass ARG to tapedeck as it is, e.g. --tapedeck-arg=--preset=anthropic "
        "(repeatable; the mode's subcommand must accept it).",
    )


def _parse_upstreams(values: List[str], source: str) -> List[str]:
    out = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        name, eq, url = value.partition("=")
        if not eq or "://" in name:
            raise pytest.UsageError(
                f"{source}: {value!r}: give the upstream a mount name, NAME=URL "
                "(e.g. anthropic=https://api.anthropic.com); each SDK's base URL picks its mount"
            )
        if not _MOUNT_RE.fullmatch(name):
            raise pytest.UsageError(
                f"{source}: {value!r}: the mount name {name!r} must be 1 to 64 of a-z, 0-9, '_' "
                "and '-', starting with a letter or digit"
            )
        if not url:
            raise pytest.UsageError(f"{source}: {value!r}: no URL after '='")
        out.append(f"{name}={url}")
    return out


def _env_upstreams(text: str) -> List[str]:
    text = text.strip()
    if text.startswith("["):
        try:
            values = json.loads(text)
        except ValueError as e:
            raise pytest.UsageError(f"TAPEDECK_UPSTREAM: not a JSON array: {e}") from None
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise pytest.UsageError("TAPEDECK_UPSTREAM: expected a JSON array of strings")
        return values
    return text.split(",")


def _stop_with_parent() -> None:
    """In the child, before tapedeck runs (Linux): SIGTERM to tapedeck when the process that
    started it dies, however it dies (a CI timeout's SIGKILL included), so no tapedeck outlives
    its session and what it recorded is written as at a clean stop. Elsewhere, nothing."""
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM))
    except (OSError, AttributeError):
        pass


class _Settings:
    """What the options say, checked once at configure time."""

    def __init__(self, config: pytest.Config) -> None:
        opt = config.option
        mode = opt.tapedeck_mode or os.environ.get("TAPEDECK_MODE", "").strip() or "replay"
        if mode not in MODES:
            raise pytest.UsageError(
                f"TAPEDECK_MODE={mode!r}: expected one of {', '.join(MODES)}"
            )
        self.mode: str = mode
        self.binary: str = opt.tapedeck_bin or os.environ.get("TAPEDECK_BIN") or "tapedeck"
        self.cassette_dir = pathlib.Path(config.rootpath, opt.tapedeck_cassette_dir).resolve()
        self.timing: str = opt.tapedeck_timing
        self.fail_on_unused: bool = opt.tapedeck_fail_on_unused
        self.extra_args: List[str] = list(opt.tapedeck_arg or [])
        self.start_timeout: float = opt.tapedeck_start_timeout
        if not self.start_timeout > 0:
            raise pytest.UsageError("--tapedeck-start-timeout: expected a positive number")
        self.upstreams: List[str] = []
        if mode != "replay":  # replay reads each cassette's mounts; upstreams are ignored there
            if opt.tapedeck_upstream:
                self.upstreams = _parse_upstreams(opt.tapedeck_upstream, "--tapedeck-upstream")
            elif os.environ.get("TAPEDECK_UPSTREAM", "").strip():
                self.upstreams = _parse_upstreams(
                    _env_upstreams(os.environ["TAPEDECK_UPSTREAM"]), "TAPEDECK_UPSTREAM"
                )
            else:
                self.upstreams = list(DEFAULT_UPSTREAMS)
        self.rootpath = pathlib.Path(config.rootpath)


# ------------------------------------------------------------------------------------------------
# The tapedeck process.


class _StartError(Exception):
    pass


def _notable(line: str) -> bool:
    """A warning, an error, or a line that is not one of tapedeck's JSON log lines (the strict
    report, a usage error): what a person needs from a long log."""
    try:
        entry = json.loads(line)
    except ValueError:
        return True
    return not isinstance(entry, dict) or entry.get("level") not in ("trace", "debug", "info")


def _readable(line: str) -> str:
    """A log line as a person reads it: `level: msg` for tapedeck's JSON lines."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line
    if isinstance(entry, dict) and isinstance(entry.get("msg"), str):
        return f"{entry.get('level', 'info')}: {entry['msg']}"
    return line


class _Server:
    """One tapedeck child process: started once, its output drained to a log file by a thread,
    stopped with SIGTERM. Used from pytest's thread only (the drain thread touches only the log,
    the tail and the listening event)."""

    def __init__(self, settings: _Settings, log_path: pathlib.Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.url: Optional[str] = None
        self.start_error: Optional[str] = None
        self.command: List[str] = []
        self._proc: Optional[subprocess.Popen] = None
        self._thread: Optional[threading.Thread] = None
        # (line number, line): the last lines, and the last notable ones.
        self._tail: "collections.deque[tuple[int, str]]" = collections.deque(maxlen=_TAIL_LINES)
        self._notable: "collections.deque[tuple[int, str]]" = collections.deque(
            maxlen=_NOTABLE_LINES)
        self._lines_seen = 0
        self._tail_lock = threading.Lock()
        self._listening = threading.Event()  # set at the listening line, or at end of output
        self._output_closed = threading.Event()
        self._found_url: Optional[str] = None

    def tail(self) -> str:
        """For an error message: tapedeck's last warnings and errors and its last lines."""
        with self._tail_lock:
            lines = sorted(set(self._notable) | set(self._tail))
        if not lines:
            return f"(tapedeck wrote nothing; log: {self.log_path})"
        return "\n".join([f"tapedeck's log ({self.log_path}), its last warnings and lines:"] +
                         ["  " + _readable(line) for _, line in lines])

    def _command(self, binary: str) -> List[str]:
        s = self.settings
        cmd = [binary, s.mode, "--cassette-dir", str(s.cassette_dir),
               "--listen", "127.0.0.1:0", "--log-format", "json"]
        for upstream in s.upstreams:
            cmd += ["--upstream", upstream]
        if s.mode == "record":
            cmd.append("--overwrite")
        if s.mode in ("replay", "auto") and s.timing:
            cmd += ["--timing", s.timing]
        return cmd + s.extra_args

    def ensure_started(self) -> str:
        """The base URL of the running tapedeck (http://127.0.0.1:PORT), starting it on the first
        call. Raises _StartError with the reason (the same one on every later call)."""
        if self.url:
            return self.url
        if self.start_error is None:
            try:
                self.url = self._start()
            except _StartError as e:
                self.start_error = str(e)
        if self.start_error is not None:
            raise _StartError(self.start_error)
        return self.url

    def _start(self) -> str:
        s = self.settings
        binary = shutil.which(s.binary)  # a relative path is the invocation folder's
        if binary is not None:
            binary = os.path.abspath(binary)  # tapedeck runs in the rootdir
        if binary is None:
            where = "on PATH" if os.sep not in s.binary else "there"
            raise _StartError(
                f"tapedeck binary {s.binary!r} not found {where} or not executable: build it "
                "(cmake --build build --target tapedeck) and give its path with --tapedeck-bin "
                "or TAPEDECK_BIN"
            )
        if s.mode == "replay" and not s.cassette_dir.is_dir():
            raise _StartError(
                f"cassette folder {s.cassette_dir} does not exist: record the tests first "
                "(pytest --tapedeck-mode record, with real keys), or point "
                "--tapedeck-cassette-dir at your cassettes"
            )
        self.command = self._command(binary)
        # tapedeck reads TAPEDECK_* variables as flags: its settings come from the command only.
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TAPEDECK_")}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        try:
            self._proc = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, env=env, cwd=str(s.rootpath),
                start_new_session=True,  # the session, not a Ctrl-C, decides when it stops
                preexec_fn=_stop_with_parent)
        except OSError as e:
            log.close()
            raise _StartError(f"could not run {binary}: {e}") from None
        self._thread = threading.Thread(target=self._drain, args=(self._proc.stdout, log),
                                         name="tapedeck-log", daemon=True)
        self._thread.start()
        self._listening.wait(s.start_timeout)
        if self._found_url:
            return self._found_url
        command = " ".join(self.command)
        code = None
        if self._output_closed.is_set():  # it closed its output: it is exiting, if not gone yet
            try:
                code = self._proc.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if code is None:
            self._kill()
            raise _StartError(
                f"tapedeck did not report listening within {s.start_timeout:g} s "
                f"(--tapedeck-start-timeout) and was killed: {command}\n" + self.tail())
        self._thread.join(5)
        self._proc = None  # reported here, not again at the session's end
        raise _StartError(
            f"tapedeck exited with status {code}{self._meaning(code)} before it listened: "
            f"{command}\n" + self.tail())

    def _drain(self, pipe, log) -> None:
        try:
            for raw in iter(pipe.readline, b""):
                log.write(raw)
                log.flush()
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._tail_lock:
                    self._lines_seen += 1
                    self._tail.append((self._lines_seen, line))
                    if _notable(line):
                        self._notable.append((self._lines_seen, line))
                if self._found_url is None and '"listening"' in line:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if entry.get("event") == "listening" and isinstance(entry.get("url"), str):
                        self._found_url = entry["url"]
                        self._listening.set()
        finally:
            log.close()
            pipe.close()
            self._output_closed.set()
            self._listening.set()  # whoever waits for the URL sees none

    @staticmethod
    def _meaning(code: int) -> str:
        if code < 0:
            return f" (killed by signal {-code})"
        meaning = _EXIT_MEANINGS.get(code)
        return f" ({meaning})" if meaning else ""

    def _kill(self) -> None:
        assert self._proc is not None
        self._proc.kill()
        self._proc.wait()
        self._proc = None
        if self._thread:
            self._thread.join(5)

    def exited(self) -> Optional[int]:
        return self._proc.poll() if self._proc else None

    def stop(self) -> Optional[str]:
        """Stops tapedeck with SIGTERM (it commits recordings then) and returns what went wrong,
        or None after a clean exit 0 or when it never started."""
        if self._proc is None:
            return None
        proc, self._proc = self._proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            if self._thread:
                self._thread.join(5)
            return (f"tapedeck did not stop within {_STOP_TIMEOUT:.0f} s of SIGTERM and was "
                    "killed; recordings of this run may be lost\n" + self.tail())
        if self._thread:
            self._thread.join(5)
        if code != 0:
            return (f"tapedeck exited with status {code}{self._meaning(code)}: "
                    f"{' '.join(self.command)}\n" + self.tail())
        return None

    def verdict(self, name: str, unused_fails: bool) -> dict:
        """tapedeck's GET /__tapedeck/stats/NAME answer, parsed. Raises OSError or ValueError."""
        assert self.url is not None
        parsed = urllib.parse.urlsplit(self.url)
        path = "/__tapedeck/stats/" + urllib.parse.quote(name, safe="")
        if unused_fails:
            path += "?unused=fail"
        # http.client, not urllib: no proxy from the environment may come between.
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=_STATS_TIMEOUT)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        if response.status != 200:
            raise ValueError(f"GET {path}: status {response.status}: {body.strip()}")
        return json.loads(body)


# ------------------------------------------------------------------------------------------------
# Per-session state.


class _Tapedeck:
    """The plugin's state in one pytest process (the controller or one xdist worker)."""

    def __init__(self, config: pytest.Config, settings: _Settings) -> None:
        self.config = config
        self.settings = settings
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "") if hasattr(
            config, "workerinput") else ""
        self._server: Optional[_Server] = None
        self.names: Dict[str, str] = {}  # node id -> cassette name, for the tests that use one
        self.name_errors: Dict[str, str] = {}  # node id -> why its name cannot be used
        self.session_errors: List[str] = []

    def server(self) -> _Server:
        if self._server is None:
            self._server = _Server(self.settings, self._log_path())
        return self._server

    def _log_path(self) -> pathlib.Path:
        filename = f"tapedeck-{self.worker}.log" if self.worker else "tapedeck.log"
        cache = getattr(self.config, "cache", None)
        if cache is not None:
            try:
                return pathlib.Path(cache.mkdir("tapedeck")) / filename
            except OSError:
                pass
        return pathlib.Path(tempfile.mkdtemp(prefix="pytest-tapedeck-")) / filename

    def stop(self) -> None:
        if self._server is not None:
            error = self._server.stop()
            if error:
                where = f"[{self.worker}] " if self.worker else ""
                self.session_errors.append(where + error)

    def name_for(self, item: pytest.Item) -> str:
        """The cassette name of `item`; fails the test when it cannot be used."""
        if item.nodeid in self.name_errors:
            pytest.fail(self.name_errors[item.nodeid], pytrace=False)
        name = self.names.get(item.nodeid)
        if name is None:
            name, error = _name_of(item)
            if error:
                pytest.fail(error, pytrace=False)
            self.names[item.nodeid] = name
        return name


def _marker_cassette(item: pytest.Item) -> "tuple[Optional[str], Optional[str]]":
    """The `cassette=` of the closest tapedeck marker, and an error when the marker is misused."""
    marker = item.get_closest_marker("tapedeck")
    if marker is None:
        return None, None
    unknown = sorted(set(marker.kwargs) - {"cassette"})
    if marker.args or unknown:
        return None, (f"@pytest.mark.tapedeck takes only cassette=NAME, not "
                      f"{', '.join([repr(a) for a in marker.args] + unknown)}")
    cassette = marker.kwargs.get("cassette")
    if cassette is None:
        return None, None
    problem = validate_cassette_name(cassette)
    if problem:
        return None, (f"@pytest.mark.tapedeck(cassette={cassette!r}): the name {problem} "
                      "(tapedeck's cassette names: docs/pytest.md)")
    return cassette, None


def _name_of(item: pytest.Item) -> "tuple[str, Optional[str]]":
    explicit, error = _marker_cassette(item)
    if error:
        return "", error
    return (explicit or cassette_name_for(item.nodeid)), None


def _uses_tapedeck(item: pytest.Item) -> bool:
    return (item.get_closest_marker("tapedeck") is not None
            or "tapedeck" in getattr(item, "fixturenames", ()))


# ------------------------------------------------------------------------------------------------
# Hooks.


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_HELP)
    config.stash[_STATE] = _Tapedeck(config, _Settings(config))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: List[pytest.Item]) -> None:
    """Names every collected test's cassette and refuses a derived name that another test also
    has, before anything records (tryfirst: deselected tests count too)."""
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    owners: Dict[str, List["tuple[str, bool]"]] = collections.defaultdict(list)
    for item in items:
        if not _uses_tapedeck(item):
            continue
        explicit, error = _marker_cassette(item)
        if error:
            state.name_errors[item.nodeid] = error
            continue
        name = explicit or cassette_name_for(item.nodeid)
        state.names[item.nodeid] = name
        owners[name].append((item.nodeid, explicit is not None))
    for name, tests in owners.items():
        if len(tests) < 2 or all(explicit for _, explicit in tests):
            continue  # one test, or tests that chose to share a cassette by name
        for nodeid, explicit in tests:
            others = ", ".join(n for n, _ in tests if n != nodeid)
            how = "its cassette= name" if explicit else "the name derived from its node id"
            state.name_errors[nodeid] = (
                f"tapedeck: cassette name {name!r} ({how}) is also the cassette of {others}: "
                "give one of them @pytest.mark.tapedeck(cassette=...) with a name of its own")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is None:
        return
    state.stop()
    if state.session_errors:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:  # an xdist worker: the controller reports it
            workeroutput["tapedeck_errors"] = list(state.session_errors)
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # xdist, on the controller
    state = node.config.stash.get(_STATE, None)
    errors = getattr(node, "workeroutput", {}).get("tapedeck_errors")
    if state is not None and errors:
        state.session_errors.extend(errors)


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or not state.session_errors:
        return
    terminalreporter.section("tapedeck", sep="=", red=True, bold=True)
    for error in state.session_errors:
        terminalreporter.line(error)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    if call.when != "call":
        return
    binding = item.stash.get(_BINDING, None)
    if binding is None:
        return
    report = outcome.get_result()
    if report.skipped or hasattr(report, "wasxfail"):
        return
    message = binding._problem()
    if message is None:
        return
    if report.passed:
        report.outcome = "failed"
        report.longrepr = message
    elif hasattr(report.longrepr, "addsection"):
        report.longrepr.addsection("tapedeck", message)
    elif isinstance(report.longrepr, str):
        report.longrepr += "\n\n" + message
    else:
        report.sections.append(("tapedeck", message))


# ------------------------------------------------------------------------------------------------
# Fixtures.


class TapedeckCassette:
    """The `tapedeck` fixture's value: one test's cassette and the base URLs that reach it."""

    def __init__(self, server: _Server, name: str, mode: str, fail_on_unused: bool,
                 nodeid: str) -> None:
        self._server = server
        self._fail_on_unused = fail_on_unused
        self._nodeid = nodeid
        self.cassette: str = name
        self.mode: str = mode
        self.path: pathlib.Path = server.settings.cassette_dir / (name + ".jsonl.zst")
        self.base_url: str = (f"{server.url}/cassette/"
                              f"{urllib.parse.quote(name, safe='')}")
        self.anthropic_base_url: str = self.url("anthropic")
        self.openai_base_url: str = self.url("openai") + "/v1"
        self.gemini_base_url: str = self.url("gemini")

    def url(self, provider: str) -> str:
        """The base URL of the mount `provider` for this test's cassette, e.g.
        url("anthropic") == "http://127.0.0.1:PORT/cassette/NAME/anthropic"."""
        if not _MOUNT_RE.fullmatch(provider):
            raise ValueError(f"tapedeck mount name {provider!r}: expected 1 to 64 of a-z, 0-9, "
                             "'_' and '-'")
        return f"{self.base_url}/{provider}"

    def stats(self, fail_on_unused: Optional[bool] = None) -> dict:
        """tapedeck's verdict on this cassette so far (GET /__tapedeck/stats/NAME)."""
        unused = self._fail_on_unused if fail_on_unused is None else fail_on_unused
        return self._server.verdict(self.cassette, unused)

    def __repr__(self) -> str:
        return (f"TapedeckCassette({self.cassette!r}, mode={self.mode!r}, "
                f"base_url={self.base_url!r})")

    def _shown_path(self) -> str:
        try:
            return str(self.path.relative_to(self._server.settings.rootpath))
        except ValueError:
            return str(self.path)

    def _problem(self) -> Optional[str]:
        """What fails the test, as pytest shows it, or None."""
        where = f"  cassette file: {self._shown_path()} (mode {self.mode})"
        try:
            verdict = self.stats()
        except (OSError, ValueError) as e:
            code = self._server.exited()
            state = f" (tapedeck exited with status {code})" if code is not None else ""
            return (f"tapedeck: cassette {self.cassette}: could not ask tapedeck for its "
                    f"verdict: {e}{state}\n{where}\n" + self._server.tail())
        problem = verdict.get("problem")
        if not problem:
            return None
        if not problem.startswith("cassette "):
            problem = f"cassette {self.cassette}: {problem}"
        lines = [f"tapedeck: {problem}"]
        counts = verdict.get("counts") or {}
        for miss in counts.get("recent_misses") or []:
            lines.append(f"  miss: {miss}")
        if verdict.get("reason"):
            lines.append(f"  reason: {verdict['reason']}")
        lines.append(where)
        if self.mode == "replay":
            lines.append(f"  to re-record this test: pytest --tapedeck-mode record "
                         f"'{self._nodeid}'")
        return "\n".join(lines)


@pytest.fixture
def tapedeck(request: pytest.FixtureRequest):
    """This test's cassette (TapedeckCassette), with ANTHROPIC_BASE_URL, OPENAI_BASE_URL and
    GOOGLE_GEMINI_BASE_URL pointing at it until the test ends."""
    state: _Tapedeck = request.config.stash[_STATE]
    name = state.name_for(request.node)
    server = state.server()
    try:
        server.ensure_started()
        error = None
    except _StartError as e:
        error = str(e)
    if error is not None:  # outside the except: no "During handling..." chain in the report
        pytest.fail(f"tapedeck could not start: {error}", pytrace=False)
    binding = TapedeckCassette(server, name, state.settings.mode, state.settings.fail_on_unused,
                               request.node.nodeid)
    mp = pytest.MonkeyPatch()
    mp.setenv("ANTHROPIC_BASE_URL", binding.anthropic_base_url)
    mp.setenv("OPENAI_BASE_URL", binding.openai_base_url)
    mp.setenv("GOOGLE_GEMINI_BASE_URL", binding.gemini_base_url)
    if state.settings.mode == "replay":
        for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
            if not os.environ.get(key):
                mp.setenv(key, PLACEHOLDER_KEY)
    request.node.stash[_BINDING] = binding
    try:
        yield binding
    finally:
        mp.undo()


@pytest.fixture(autouse=True)
def _tapedeck_marker(request: pytest.FixtureRequest) -> None:
    """Gives a test marked @pytest.mark.tapedeck its cassette without asking for the fixture."""
    if request.node.get_closest_marker("tapedeck") is not None:
        request.getfixturevalue("tapedeck")
