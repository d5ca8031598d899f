"""Running the stage's checks (pytest with tools/grade_plugin.py) in the sandbox, and reading them back.

Whether the app loads is learnt from the run itself: the first check that needs the app's
server and cannot start it records why (tools/grade_plugin.py's "app_error").
"""
import json
import os
import sys
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


def read_record(path):
    events = []
    path = Path(path)
    if path.is_file() and not path.is_symlink():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a process that died mid-write
            if isinstance(event, dict) and isinstance(event.get("event"), str):
                events.append(event)
    return events


def run_checks(sandbox, number, copy, scratch, options, files):
    """Run the stage's checks with pytest in the sandbox; (events, exit code or None, output, junit)."""
    work = Path(sandbox.work)
    record, junit = work / "record.jsonl", work / "junit.xml"
    output = Path(scratch) / "pytest.out"
    command = [sys.executable, "-m", "pytest", *map(str, files),
               "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
               "--stage-dir", f"{number}={copy}", "-p", "grade_plugin",
               "--grade-record", str(record), "--basetemp", str(work / "tmp"),
               "--junitxml", str(junit), "-o", "junit_family=xunit1",
               "-q", "--no-header", "-p", "no:cacheprovider",
               # The app runs as servers of tools/grading/app_host.py, never in
               # this pytest process (with bubblewrap, in a sandbox of its own inside this one).
               "--app-host", "sandbox" if sandbox.kind == "bwrap" else "plain",
               "--app-start-timeout", f"{options.import_timeout:g}"]
    if options.workers > 1 and not options.collect_only:  # pytest-xdist: the checks of a big stage side by side
        command += ["-n", str(options.workers), "--dist", "load"]
    if options.check_timeout:
        command += ["--timeout", f"{options.check_timeout:g}"]
    for name in options.only:
        command += ["--grade-only", name]
    if options.collect_only:
        command.append("--collect-only")
    sandbox.prepare()
    env = child_env({"BROWSER_ARTIFACTS": str(work / "browser")})

    def finished():
        try:
            return '"event": "finished"' in record.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False

    left = options.time_limit - options.elapsed()
    code = sandbox.run(command, max(left, 5), output, env, finished=finished, grace=options.finish_grace)
    events = read_record(record)
    text = output.read_text(encoding="utf-8", errors="replace")
    if code == FINISHED_BUT_STUCK:
        code = next((e.get("exitstatus") for e in events if e["event"] == "finished"), 1)
        text += f"\n{STUCK_NOTE}\n"
    return events, code, text, junit


def app_error(events):
    """Why the app could not be started, as the first check that needed its server recorded it; or None."""
    return next((e["app_error"] for e in events if isinstance(e.get("app_error"), str)), None)


def describe(name, doc):
    """A check's plain description: its docstring's first paragraph, or its name in words."""
    function, _, params = name.partition("[")
    first = " ".join((doc or "").strip().split("\n\n")[0].split())
    text = first.rstrip(".") if first else function.removeprefix("test_").replace("_", " ")
    params = params.removesuffix("]")
    if len(params) > 40:
        params = params[:37] + "..."
    return text + (f" ({params})" if params else "")


def checks_from(events, limit_hit, exit_code):
    """The checks, in collection order, with what the record says of each."""
    checks, order = {}, []
    for event in events:
        if event["event"] == "collected" and isinstance(event.get("id"), str) and event["id"] not in checks:
            checks[event["id"]] = Check(
                id=event["id"], name=str(event.get("name", "")), function=str(event.get("function", "")),
                description=describe(str(event.get("name", "")), str(event.get("doc", ""))),
                browser=bool(event.get("browser")), doc=str(event.get("doc", "")))
            order.append(event["id"])
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
