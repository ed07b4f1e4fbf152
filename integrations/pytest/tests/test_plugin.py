"""The plugin end to end: the sample suite (sample/test_chat.py, 12 tests) recorded through a real
tapedeck against the scripted fake API, then replayed with that API stopped, alone and under
pytest-xdist; a changed prompt, unused interactions, tapedeck's own failure, a broken binary, and
the command line and environment tapedeck is given."""

import json
import os
import pathlib
import re
import select
import shutil
import subprocess
import sys
import threading
import time

import pytest

from conftest import PLUGIN_DIR, Keys, fake_api, make_project, run_pytest

CASSETTES = [
    "shared/count-tokens",
    "tests/test_chat/TestOpenAIWithMarker/test_system_prompt",
    "tests/test_chat/test_anthropic_message",
    "tests/test_chat/test_anthropic_models",
    "tests/test_chat/test_anthropic_prompts-hello",
    "tests/test_chat/test_anthropic_prompts-tape-deck-HASH",
    "tests/test_chat/test_anthropic_stream",
    "tests/test_chat/test_anthropic_tool_use",
    "tests/test_chat/test_anthropic_two_turns",
    "tests/test_chat/test_both_providers",
    "tests/test_chat/test_openai_chat",
    "tests/test_chat/test_openai_chat_stream",
]


# A project of one test that uses tapedeck, with an (empty) cassette folder.
ONE_TEST = {"tests/test_one.py": "def test_one(tapedeck):\n    pass\n",
            "tests/cassettes/.keep": ""}


def cassettes_in(project: pathlib.Path) -> list:
    """The cassette names under the project's tests/cassettes, an 8-hex hash shown as HASH."""
    root = project / "tests" / "cassettes"
    names = [str(p.relative_to(root))[: -len(".jsonl.zst")] for p in root.rglob("*.jsonl.zst")]
    return sorted(re.sub(r"-[0-9a-f]{8}$", "-HASH", n) for n in names)


def answers_in(folder: pathlib.Path) -> dict:
    """node id -> what that test received, as the sample suite saved it."""
    out = {}
    for path in folder.glob("*.json"):
        entry = json.loads(path.read_text())
        out[entry["nodeid"]] = entry["answer"]
    return out


def snapshot(project: pathlib.Path) -> dict:
    root = project / "tests" / "cassettes"
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def copy_project(recorded, tmp_path: pathlib.Path) -> pathlib.Path:
    target = tmp_path / "project"
    shutil.copytree(recorded.project, target, ignore=shutil.ignore_patterns(".pytest_cache"))
    return target


def edit(path: pathlib.Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer holds {old!r}"
    path.write_text(text.replace(old, new))


class Recorded:
    def __init__(self, project, run, answers, keys, tapedeck_bin):
        self.project, self.run, self.answers = project, run, answers
        self.keys, self.tapedeck_bin = keys, tapedeck_bin

    def env(self, answers: pathlib.Path = None) -> dict:
        env = {"TAPEDECK_BIN": self.tapedeck_bin}
        if answers is not None:
            answers.mkdir(parents=True, exist_ok=True)
            env["SAMPLE_ANSWERS"] = str(answers)
        return env


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, keys: Keys, tapedeck_bin: str) -> Recorded:
    """The sample suite recorded once against the fake API, which is stopped afterwards: every
    replay below runs with nothing listening at the recorded upstream."""
    root = tmp_path_factory.mktemp("recorded")
    project = make_project(root / "project")
    answers = root / "answers"
    answers.mkdir()
    with fake_api(keys) as url:
        run = run_pytest(project, "--tapedeck-mode", "record",
                         "--tapedeck-upstream", f"anthropic={url}",
                         "--tapedeck-upstream", f"openai={url}",
                         env={"TAPEDECK_BIN": tapedeck_bin, "SAMPLE_ANSWERS": str(answers),
                              **keys.env()})
    return Recorded(project, run, answers_in(answers), keys, tapedeck_bin)


def test_record_writes_one_cassette_per_test_and_no_key(recorded):
    assert recorded.run.ret == 0 and recorded.run.outcomes == {"passed": 12}, recorded.run
    assert cassettes_in(recorded.project) == sorted(CASSETTES)
    assert len(recorded.answers) == 12
    files = sorted((recorded.project / "tests" / "cassettes").rglob("*.jsonl.zst"))
    text = subprocess.run([recorded.tapedeck_bin, "cassette", "cat", "--jsonl", *map(str, files)],
                          capture_output=True, text=True, check=True).stdout
    assert text.count('"path":"/anthropic/v1/messages"') >= 8, "each test's requests were saved"
    assert '"path":"/openai/v1/chat/completions"' in text
    log = (recorded.project / ".pytest_cache" / "d" / "tapedeck" / "tapedeck.log").read_text()
    assert '"event":"listening"' in log, "tapedeck's output went to the log file"
    for key in (recorded.keys.anthropic, recorded.keys.openai):
        assert key not in text and key not in log
        assert all(key.encode() not in f.read_bytes() for f in files)


def test_replay_without_the_api_gives_the_recorded_answers(recorded, tmp_path):
    before = snapshot(recorded.project)
    # A TAPEDECK_* setting in the caller's environment never reaches tapedeck (with this one it
    # would refuse every request that lacks an x-tapedeck-key header).
    env = {**recorded.env(tmp_path / "answers"), "TAPEDECK_REQUIRE_KEY": "only-with-this"}
    run = run_pytest(recorded.project, env=env)
    assert run.ret == 0 and run.outcomes == {"passed": 12}, run
    assert answers_in(tmp_path / "answers") == recorded.answers
    assert snapshot(recorded.project) == before, "replay never writes a cassette"


def test_replay_under_xdist_gives_the_recorded_answers(recorded, tmp_path):
    project = copy_project(recorded, tmp_path)
    run = run_pytest(project, "-n", "4", env=recorded.env(tmp_path / "answers"))
    assert run.ret == 0 and run.outcomes == {"passed": 12}, run
    assert answers_in(tmp_path / "answers") == recorded.answers
    logs = sorted((project / ".pytest_cache" / "d" / "tapedeck").glob("tapedeck-gw*.log"))
    urls = {re.search(r'"url":"([^"]+)"', log.read_text()).group(1) for log in logs}
    assert len(logs) >= 2 and len(urls) == len(logs), "each worker runs its own tapedeck"


def test_a_changed_prompt_fails_that_test_alone_with_the_miss(recorded, tmp_path):
    project = copy_project(recorded, tmp_path)
    edit(project / "tests" / "test_chat.py", "Name three parts", "Name four parts")
    run = run_pytest(project, env=recorded.env())
    assert run.ret == 1 and run.outcomes == {"failed": 1, "passed": 11}, run
    assert run.failed_tests() == ["tests/test_chat.py::test_anthropic_message"], run
    assert ("tapedeck: cassette tests/test_chat/test_anthropic_message: replay: 0 hits, 1 miss"
            in run.output), run
    assert ('differs at: body.messages[0].content: "Name four parts of a tape deck." != '
            '"Name three parts of a tape deck."' in run.output), run
    assert ("to re-record this test: pytest --tapedeck-mode record "
            "'tests/test_chat.py::test_anthropic_message'" in run.output), run


def test_a_test_that_ignores_the_404_still_fails(recorded, tmp_path):
    project = copy_project(recorded, tmp_path)
    (project / "tests" / "test_new.py").write_text(
        "import os, httpx, pytest\n\n"
        "@pytest.mark.tapedeck\n"
        "def test_new():\n"
        "    httpx.post(os.environ['OPENAI_BASE_URL'] + '/chat/completions', json={})\n")
    run = run_pytest(project, "tests/test_new.py", env=recorded.env())
    assert run.ret == 1 and run.outcomes == {"failed": 1}, run
    assert "tapedeck: cassette tests/test_new/test_new: not found; 1 request(s) answered 404" in (
        run.output), run


def test_unused_interactions_fail_only_when_asked(recorded, tmp_path):
    project = copy_project(recorded, tmp_path)
    edit(project / "tests" / "test_chat.py", "SECOND_TURN = True", "SECOND_TURN = False")
    run = run_pytest(project, env=recorded.env())
    assert run.ret == 0 and run.outcomes == {"passed": 12}, run
    strict = run_pytest(project, "--tapedeck-fail-on-unused", env=recorded.env())
    assert strict.ret == 1 and strict.outcomes == {"failed": 1, "passed": 11}, strict
    assert strict.failed_tests() == ["tests/test_chat.py::test_anthropic_two_turns"], strict
    assert "1 of 2 interactions never used: #1" in strict.output, strict


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["alone", "xdist"])
def test_tapedecks_failure_at_the_end_fails_the_session(recorded, tmp_path, workers):
    project = copy_project(recorded, tmp_path)
    edit(project / "tests" / "test_chat.py", "SECOND_TURN = True", "SECOND_TURN = False")
    # Every test passes (an unused interaction fails none by default), but --strict makes
    # tapedeck itself exit 1 at the end for it.
    run = run_pytest(project, "--tapedeck-arg=--strict", *workers, env=recorded.env())
    assert run.ret == 1 and run.outcomes == {"passed": 12}, run
    assert re.search(r"=+ tapedeck =+", run.output), run
    assert "tapedeck exited with status 1 (strict problems: a miss" in run.output, run
    assert "strict replay failed" in run.output, "the section shows tapedeck's last words"


def test_a_broken_binary_is_a_clear_error_once(tmp_path, tapedeck_bin):
    project = make_project(tmp_path / "project")
    (project / "tests" / "cassettes").mkdir()
    missing = run_pytest(project, f"--tapedeck-bin={tmp_path / 'nope' / 'tapedeck'}",
                         env={"TAPEDECK_BIN": tapedeck_bin})  # the option wins over the variable
    assert missing.ret == 1 and missing.outcomes == {"error": 12}, missing
    assert f"tapedeck binary '{tmp_path / 'nope' / 'tapedeck'}' not found" in missing.output

    fake = tmp_path / "fake-tapedeck"
    fake.write_text("#!/bin/sh\necho started >> \"$0.runs\"\necho 'boom: not really tapedeck' >&2\n"
                    "exit 2\n")
    fake.chmod(0o755)
    broken = run_pytest(project, f"--tapedeck-bin={fake}")
    assert broken.outcomes == {"error": 12}, broken
    assert ("tapedeck exited with status 2 (a usage error: a bad flag or value) before it "
            "listened" in broken.output), broken
    assert "boom: not really tapedeck" in broken.output, "the error shows tapedeck's output"
    runs = (tmp_path / "fake-tapedeck.runs").read_text()
    assert runs == "started\n", "started once, not once per test"


def test_a_tapedeck_that_never_listens_is_stopped_at_the_start_timeout(tmp_path):
    project = make_project(tmp_path / "project", ONE_TEST)
    fake = tmp_path / "slow-tapedeck"
    fake.write_text("#!/bin/sh\necho 'still warming up' >&2\nexec sleep 120\n")
    fake.chmod(0o755)
    started = time.monotonic()
    run = run_pytest(project, f"--tapedeck-bin={fake}", "--tapedeck-start-timeout=1")
    assert time.monotonic() - started < 60, "the child pytest did not wait for the sleep"
    assert run.outcomes == {"error": 1}, run
    assert "tapedeck did not report listening within 1 s (--tapedeck-start-timeout)" in (
        run.output), run
    assert "still warming up" in run.output, run


def test_tapedeck_stops_when_pytest_is_killed(tmp_path):
    """A CI timeout SIGKILLs pytest: its tapedeck gets SIGTERM (and so writes what it recorded)
    instead of living on. The stand-in tapedeck says it listens, notes its pid, and notes the
    SIGTERM; FIFOs say when the test is running, and a pidfd when the stand-in is gone."""
    ready, block = tmp_path / "ready", tmp_path / "block"
    os.mkfifo(ready)
    os.mkfifo(block)
    project = make_project(tmp_path / "project", {
        "tests/test_wait.py": (
            "import os\n"
            "def test_wait(tapedeck):\n"
            "    open(os.environ['READY'], 'w').close()\n"
            "    open(os.environ['BLOCK']).read()\n"),
        "tests/cassettes/.keep": ""})
    fake = tmp_path / "stand-in"
    fake.write_text(
        "#!/bin/sh\n"
        "trap 'echo TERM > \"$0.term\"; exit 0' TERM\n"
        "echo $$ > \"$0.pid\"\n"
        "echo '{\"event\":\"listening\",\"url\":\"http://127.0.0.1:9\"}'\n"
        "while :; do sleep 1; done\n")
    fake.chmod(0o755)
    pytest_run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "pytest_tapedeck", "-p", "no:cacheprovider",
         f"--tapedeck-bin={fake}", "tests/test_wait.py"],
        cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(PLUGIN_DIR), "READY": str(ready),
             "BLOCK": str(block)})
    try:
        # Opening the FIFO returns once the test body has opened it: tapedeck is running.
        body_ran = threading.Thread(target=lambda: open(ready).close(), daemon=True)
        body_ran.start()
        body_ran.join(60)
        if body_ran.is_alive():
            open(ready, "w").close()  # let the thread go
            pytest.fail("the test body did not run within 60 s")
        stand_in = int((tmp_path / "stand-in.pid").read_text())
        pidfd = os.pidfd_open(stand_in)
        pytest_run.kill()
        pytest_run.wait()
        readable, _, _ = select.select([pidfd], [], [], 30)
        os.close(pidfd)
        assert readable, "the stand-in tapedeck outlived the killed pytest by 30 s"
        assert (tmp_path / "stand-in.term").read_text() == "TERM\n"
    finally:
        pytest_run.kill()
        pytest_run.wait()


def test_replay_without_cassettes_says_to_record_first(tmp_path, tapedeck_bin):
    project = make_project(tmp_path / "project")
    run = run_pytest(project, "tests/test_chat.py::test_openai_chat",
                     env={"TAPEDECK_BIN": tapedeck_bin})
    assert run.outcomes == {"error": 1}, run
    assert "cassette folder" in run.output and "does not exist" in run.output, run
    assert "pytest --tapedeck-mode record" in run.output, run


def args_given(tmp_path: pathlib.Path, *args: str, env=None) -> tuple:
    """The command line and TAPEDECK_* variables the plugin gives tapedeck, seen by a stand-in
    binary that records them and exits."""
    project = make_project(tmp_path / "project", ONE_TEST)
    fake = tmp_path / "fake-tapedeck"
    fake.write_text("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$0.args\"\n"
                    "env | grep '^TAPEDECK_' > \"$0.env\"\nexit 2\n")
    fake.chmod(0o755)
    run = run_pytest(project, f"--tapedeck-bin={fake}", *args, env=env)
    assert run.outcomes == {"error": 1}, run
    given = (tmp_path / "fake-tapedeck.args").read_text().splitlines()
    return given, (tmp_path / "fake-tapedeck.env").read_text(), project


def test_replay_command_line(tmp_path):
    given, env, project = args_given(tmp_path, env={"TAPEDECK_TIMING": "recorded"})
    assert given == ["replay", "--cassette-dir", str(project / "tests" / "cassettes"),
                     "--listen", "127.0.0.1:0", "--log-format", "json", "--timing", "instant"]
    assert env == "", "no TAPEDECK_* variable reaches tapedeck"


def test_record_command_line_from_the_environment(tmp_path):
    given, env, project = args_given(
        tmp_path, "--tapedeck-arg=--no-upstream-check", "--tapedeck-cassette-dir", "recs",
        env={"TAPEDECK_MODE": "record",
             "TAPEDECK_UPSTREAM": '["anthropic=http://a.invalid", "openai=http://o.invalid"]'})
    assert given == ["record", "--cassette-dir", str(project / "recs"),
                     "--listen", "127.0.0.1:0", "--log-format", "json",
                     "--upstream", "anthropic=http://a.invalid",
                     "--upstream", "openai=http://o.invalid", "--overwrite", "--no-upstream-check"]
    assert env == ""


def test_auto_command_line_defaults_to_the_public_apis(tmp_path):
    given, _, _ = args_given(tmp_path, "--tapedeck-mode", "auto", "--tapedeck-timing", "4",
                             env={"TAPEDECK_UPSTREAM": "openai=http://ignored.invalid"})
    upstreams = [given[i + 1] for i, a in enumerate(given) if a == "--upstream"]
    assert given[0] == "auto"
    assert upstreams == ["openai=http://ignored.invalid"], "the variable is used when set"
    given, _, _ = args_given(tmp_path / "defaults", "--tapedeck-mode", "auto", "--tapedeck-timing",
                             "4")
    upstreams = [given[i + 1] for i, a in enumerate(given) if a == "--upstream"]
    assert upstreams == ["anthropic=https://api.anthropic.com", "openai=https://api.openai.com",
                         "gemini=https://generativelanguage.googleapis.com"]
    assert given[-2:] == ["--timing", "4"]


@pytest.mark.parametrize("args, env, message", [
    (["--tapedeck-mode", "record", "--tapedeck-upstream", "https://api.anthropic.com"], {},
     "give the upstream a mount name, NAME=URL"),
    (["--tapedeck-mode", "auto"], {"TAPEDECK_UPSTREAM": "Bad Name=http://x.invalid"},
     "the mount name 'Bad Name' must be"),
    ([], {"TAPEDECK_MODE": "playback"}, "TAPEDECK_MODE='playback': expected one of"),
])
def test_bad_settings_are_usage_errors(tmp_path, args, env, message):
    project = make_project(tmp_path / "project", ONE_TEST)
    run = run_pytest(project, *args, env=env)
    assert run.ret == 4, run  # pytest's usage-error status
    assert message in run.output, run


def test_clashing_or_invalid_cassette_names_are_refused(tmp_path):
    project = make_project(tmp_path / "project", {
        "tests/test_m.py": "import pytest\n\n"
                           "def test_b(tapedeck):\n    pass\n\n"
                           "@pytest.mark.tapedeck(cassette='tests/test_m/test_b')\n"
                           "def test_c():\n    pass\n\n"
                           "@pytest.mark.tapedeck(cassette='shared')\n"
                           "def test_d():\n    pass\n\n"
                           "@pytest.mark.tapedeck(cassette='shared')\n"
                           "def test_e():\n    pass\n\n"
                           "@pytest.mark.tapedeck(cassette='../up')\n"
                           "def test_f():\n    pass\n\n"
                           "@pytest.mark.tapedeck('positional')\n"
                           "def test_g():\n    pass\n",
        "tests/cassettes/shared.jsonl.zst": ""})
    run = run_pytest(project, "--tapedeck-bin=/bin/false")
    assert run.outcomes == {"error": 6}, run
    assert ("cassette name 'tests/test_m/test_b' (the name derived from its node id) is also the "
            "cassette of tests/test_m.py::test_c" in run.output), run
    assert ("cassette name 'tests/test_m/test_b' (its cassette= name) is also the cassette of "
            "tests/test_m.py::test_b" in run.output), run
    assert "@pytest.mark.tapedeck(cassette='../up'): the name has a '.' or '..' segment" in (
        run.output), run
    assert "@pytest.mark.tapedeck takes only cassette=NAME, not 'positional'" in run.output, run
    # test_d and test_e chose to share a cassette: they get as far as starting tapedeck.
    assert len(re.findall(r"^tapedeck could not start", run.output, re.MULTILINE)) == 2, run
