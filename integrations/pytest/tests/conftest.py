"""What the plugin's tests share: the tapedeck binary, the run's keys (made from pieces, so no
key-shaped string sits in the source), the scripted fake API (tests/e2e/upstream.mjs), and running
pytest with the plugin in a scratch project, in a child process with a scrubbed environment."""

import contextlib
import os
import pathlib
import queue
import re
import secrets
import shutil
import subprocess
import sys
import threading
from typing import Dict, List, Optional

import pytest

HERE = pathlib.Path(__file__).resolve().parent
PLUGIN_DIR = HERE.parent
REPO = PLUGIN_DIR.parent.parent
SAMPLE = HERE / "sample"
UPSTREAM_MJS = REPO / "tests" / "e2e" / "upstream.mjs"

sys.path.insert(0, str(PLUGIN_DIR))  # `import pytest_tapedeck` without installing it

collect_ignore = ["sample"]  # the suite the tests drive, run only in their scratch projects

# Variables a caller's shell may hold that would change what the child pytest or tapedeck does.
_SCRUBBED = re.compile(
    r"^(TAPEDECK_|ANTHROPIC_|OPENAI_|GOOGLE_GEMINI_|GEMINI_|PYTEST_|SAMPLE_|"
    r"(HTTPS?|ALL|NO)_PROXY$)", re.IGNORECASE)
_START_TIMEOUT = 15.0  # seconds, for the fake API to listen
_RUN_TIMEOUT = 120.0  # seconds, for one child pytest


def tapedeck_binary() -> str:
    """TAPEDECK_BIN (ctest sets it), else the tree's build/tools/tapedeck."""
    binary = os.environ.get("TAPEDECK_BIN") or str(REPO / "build" / "tools" / "tapedeck")
    if not os.access(binary, os.X_OK):
        pytest.skip(f"no tapedeck binary at {binary}: build it or set TAPEDECK_BIN")
    return os.path.abspath(binary)  # the child pytests run in their own folders


@pytest.fixture(scope="session")
def tapedeck_bin() -> str:
    return tapedeck_binary()


class Keys:
    """Key-shaped keys for this run, made from pieces at run time."""

    def __init__(self) -> None:
        self.anthropic = "-".join(["sk", "ant", "api03"]) + "-Py" + secrets.token_hex(16)
        self.openai = "-".join(["sk", "proj"]) + "-Py" + secrets.token_hex(16)

    def env(self) -> Dict[str, str]:
        return {"ANTHROPIC_API_KEY": self.anthropic, "OPENAI_API_KEY": self.openai}


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


@contextlib.contextmanager
def fake_api(keys: Keys):
    """Runs tests/e2e/upstream.mjs on a free loopback port; yields its URL, stops it after."""
    node = os.environ.get("NODE_BIN") or shutil.which("node")
    if not node:
        pytest.skip("node is not installed: the fake API (tests/e2e/upstream.mjs) needs it")
    env = {k: v for k, v in os.environ.items() if not _SCRUBBED.match(k)}
    env.update(E2E_ANTHROPIC_KEY=keys.anthropic, E2E_OPENAI_KEY=keys.openai)
    proc = subprocess.Popen([node, str(UPSTREAM_MJS), "0"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: "queue.Queue[Optional[str]]" = queue.Queue()

    def drain() -> None:
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    try:
        seen = []
        url = None
        while url is None:
            line = lines.get(timeout=_START_TIMEOUT)
            if line is None:
                raise RuntimeError(f"the fake API exited before listening: {''.join(seen)}")
            seen.append(line)
            match = re.search(r"upstream listening on (http://\S+)", line)
            url = match.group(1) if match else None
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


class Run:
    """A finished child pytest: exit status, output, and the counts of its last line."""

    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.ret = proc.returncode
        self.output = proc.stdout + proc.stderr
        last = [line for line in proc.stdout.splitlines() if line.strip()][-1:] or [""]
        self.outcomes = {word if word != "errors" else "error": int(n)
                         for n, word in re.findall(r"(\d+) (\w+)", last[0])}

    def failed_tests(self) -> List[str]:
        return sorted(re.findall(r"^FAILED (\S+)", self.output, re.MULTILINE))

    def __repr__(self) -> str:  # what an assertion shows
        return f"<pytest exited {self.ret}, {self.outcomes}>\n{self.output}"


def run_pytest(project: pathlib.Path, *args: str, env: Optional[Dict[str, str]] = None) -> Run:
    """`python -m pytest -p pytest_tapedeck ARGS` in `project`, with only the caller's harmless
    variables, PYTHONPATH at the plugin and `env` on top."""
    child_env = {k: v for k, v in os.environ.items() if not _SCRUBBED.match(k)}
    child_env.update(PYTHONPATH=str(PLUGIN_DIR), PYTHONDONTWRITEBYTECODE="1")
    child_env.update(env or {})
    cmd = [sys.executable, "-m", "pytest", "-p", "pytest_tapedeck", "-q", "-rfE",
           "--color=no", *args]
    proc = subprocess.run(cmd, cwd=project, env=child_env, capture_output=True, text=True,
                          timeout=_RUN_TIMEOUT)
    return Run(proc)


def make_project(root: pathlib.Path, files: Optional[Dict[str, str]] = None) -> pathlib.Path:
    """A scratch pytest project at `root`: the sample suite in tests/, or `files` instead."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n")  # pins the rootdir, so node ids are stable
    tests = root / "tests"
    tests.mkdir(parents=True, exist_ok=True)
    if files is None:
        for source in SAMPLE.glob("*.py"):
            shutil.copy(source, tests / source.name)
    else:
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
    return root
