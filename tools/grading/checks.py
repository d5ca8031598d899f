"""Running the stage's checks (pytest with tools/grade_plugin.py) in the sandbox, and reading them back.

Whether the app loads is learnt from the run itself: the first check that needs the app's
server and cannot start it records why (tools/grade_plugin.py's "app_error").
"""
import json
import os
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from stages import ROOT

from .sandbox import FINISHED_BUT_STUCK

TOOLS = ROOT / "tools"
PASS, FAIL, NOT_RUN = "pass", "fail", "not run"
APP_LOADS = "the_app_loads"
STUCK_NOTE = ("After the last check the checks' process did not end and was stopped: does the "
              "app start a thread (or a server) that never ends?")


@dataclass
class Check:
    id: str
    name: str
    function: str
    description: str
    status: str = NOT_RUN
    reason: str = ""
    hint: str = ""
    details: str = ""
    browser: bool = False
    duration: float = 0.0
    doc: str = field(default="", repr=False)


def child_env(extra=None):
    # The checks set FLASK_* themselves; a grader's PYTEST_ADDOPTS (say -x) must not change the run.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLASK_", "PYTEST_", "GRADE_")) and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TOOLS), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def event_of(line):
    """One line of the record as an event, or None (a line cut short by a process that died mid-write)."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("event"), str) else None


def read_record(path):
    """The events of a record written to a file (--grade-record: make watch, the student's own run)."""
    path = Path(path)
    if not path.is_file() or path.is_symlink():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [event for event in map(event_of, lines) if event]


class Channel:
    """The socket the checks' pytest reports through (tools/grade_plugin.py's --grade-channel):
    the grader keeps one end and reads every event as it comes; pytest inherits the other."""

    def __init__(self):
        self.mine, self.theirs = socket.socketpair()
        self.events = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        with self.mine.makefile("r", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                event = event_of(line)
                if event:
                    self.events.append(event)

    @property
    def fd(self):
        return self.theirs.fileno()

    def finished(self):
        return any(event["event"] == "finished" for event in self.events)

    def close(self):
        """Every event, once pytest (and whatever held its end) is gone."""
        self.theirs.close()
        self._reader.join(timeout=10)
        self.mine.close()
        return list(self.events)


def pytest_command(sandbox, number, copy, options, files, channel, basetemp, source=None):
    command = [sys.executable, "-m", "pytest", *map(str, files),
               "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
               "--stage", str(number), "--stage-dir", f"{number}={copy}", "-p", "grade_plugin",
               "--grade-channel", str(channel), "--basetemp", str(basetemp),
               "-q", "--no-header", "-p", "no:cacheprovider",
               # The app runs as servers of tools/grading/app_host.py, never in
               # this pytest process (with bubblewrap, in a sandbox of its own inside this one).
               "--app-host", "sandbox" if sandbox.kind == "bwrap" else "plain",
               "--app-start-timeout", f"{options.import_timeout:g}"]
    if source:
        command += ["--stage-source", f"{number}={source}"]
    if options.workers > 1 and not options.collect_only:  # pytest-xdist: the checks of a big stage side by side
        command += ["-n", str(options.workers), "--dist", "load"]
    if options.check_timeout:
        command += ["--timeout", f"{options.check_timeout:g}"]
    for name in options.only:
        command += ["--grade-only", name]
    if options.collect_only:
        command.append("--collect-only")
    return command


def run_checks(sandbox, number, pristine, scratch, options, files):
    """Run the stage's checks with pytest in the sandbox; (events, exit code or None, output).

    With options.collect_only, only collect them: the app's copy is not even made. Otherwise
    tools/grading/inside.py copies the submission as handed in (`pristine`, which the checks
    that read its files read) to the app's own copy in the sandbox's app area."""
    area = Path(sandbox.app_area)
    copy = area / pristine.name
    output = Path(scratch) / ("collect.out" if options.collect_only else "pytest.out")
    sandbox.prepare()
    env = child_env({"BROWSER_ARTIFACTS": str(Path(sandbox.work) / "browser")})
    channel = Channel()
    try:
        command = pytest_command(sandbox, number, pristine if options.collect_only else copy, options, files,
                                 channel.fd, area / "exercises", source=None if options.collect_only else pristine)
        command = sandbox.inside(command, copy=None if options.collect_only else (pristine, copy))
        left = options.time_limit - options.elapsed()
        code = sandbox.run(command, max(left, 5), output, env, finished=channel.finished,
                           grace=options.finish_grace, pass_fds=(channel.fd,))
    finally:
        events = channel.close()
    text = output.read_text(encoding="utf-8", errors="replace")
    if code == FINISHED_BUT_STUCK:
        code = next((e.get("exitstatus") for e in events if e["event"] == "finished"), 1)
        text += f"\n{STUCK_NOTE}\n"
    return events, code, text


def app_error(events):
    """Why the app could not be started, as the first check that needed its server recorded it; or None."""
    return next((e["app_error"] for e in events if isinstance(e.get("app_error"), str)), None)


def describe(name, doc):
    """A check's plain description: its docstring's first paragraph, or its name in words."""
    function, _, params = name.partition("[")
    first = " ".join((doc or "").strip().split("\n\n")[0].split())
    first = "" if first.lower().startswith("hint:") else first  # a docstring of only its hint: the name says it
    text = first.rstrip(".") if first else function.removeprefix("test_").replace("_", " ")
    params = params.removesuffix("]")
    if len(params) > 40:
        params = params[:37] + "..."
    return text + (f" ({params})" if params else "")


class RunMismatch(Exception):
    """The run's record does not match the checks collected before it: it cannot be trusted."""


def expected_checks(collected):
    """The checks a run must report, from a run that only collected them (the app never ran)."""
    checks = {}
    for event in collected:
        if event["event"] == "collected" and isinstance(event.get("id"), str) and event["id"] not in checks:
            checks[event["id"]] = Check(
                id=event["id"], name=str(event.get("name", "")), function=str(event.get("function", "")),
                description=describe(str(event.get("name", "")), str(event.get("doc", ""))),
                browser=bool(event.get("browser")), doc=str(event.get("doc", "")))
    return list(checks.values())


def verify(expected, events):
    """Raise RunMismatch when the run collected other checks than expected, or reports one it never had."""
    ids = {check.id for check in expected}
    lists = [[e["id"] for e in events if e["event"] == "collected"]]
    lists += [e.get("ids") for e in events if e["event"] == "collected_ids"]  # one per pytest-xdist worker
    lists = [found for found in lists if found]
    reported = {e.get("id") for e in events if e["event"] in ("start", "report")}
    if reported and not lists:
        raise RunMismatch("the run reported checks without saying which it collected")
    for found in lists:
        if not isinstance(found, list) or set(found) != ids or len(found) != len(ids):
            extra, missing = sorted(set(map(str, found)) - ids), sorted(ids - set(map(str, found)))
            raise RunMismatch(f"the run collected other checks than expected (extra: {extra[:5]}, missing: {missing[:5]})")
    unknown = sorted(str(i) for i in reported - ids)
    if unknown:
        raise RunMismatch(f"the run reported checks that were never collected: {unknown[:5]}")


def checks_from(expected, events, limit_hit, exit_code):
    """The expected checks, in collection order, with what the run's record says of each."""
    verify(expected, events)
    checks = {check.id: check for check in expected}
    order = list(checks)
    started, finished = set(), set()
    for event in events:
        check = checks.get(event.get("id"))
        if check is None:
            continue
        if event["event"] == "start":
            started.add(check.id)
        elif event["event"] == "report":
            check.duration += float(event.get("duration") or 0)
            if event.get("when") == "teardown":
                finished.add(check.id)
            outcome = event.get("outcome")
            if outcome == "failed":
                if check.status != FAIL:  # the first failure is the reason
                    check.status, check.reason, check.details = FAIL, str(event.get("reason", "")), str(event.get("details", ""))
                    if event.get("when") == "teardown":
                        check.reason = "after the check, cleaning up failed: " + check.reason
            elif outcome == "skipped" and check.status != FAIL:
                check.status, check.reason = NOT_RUN, str(event.get("reason", ""))
            elif outcome == "passed" and event.get("when") == "call" and check.status != FAIL:
                check.status = PASS
    for check_id in started - finished:
        check = checks[check_id]
        check.status = FAIL
        check.reason = ("did not finish: the whole grading run hit its time limit" if limit_hit else
                        f"the checks' Python process ended during this check (exit status "
                        f"{exit_code}): does the app call exit() or os._exit()?")
    for check_id in order:
        check = checks[check_id]
        if check.status == PASS and check_id not in finished:
            check.status, check.reason = FAIL, "the check passed but its clean-up never ran"
        if check_id not in started and check.status == NOT_RUN and not check.reason:
            check.reason = ("not run: the whole grading run hit its time limit" if limit_hit else
                            "not run: the checks' Python process ended before this check")
    return [checks[i] for i in order]
