"""Grade a student's copy of a stage: one line per check, a reason and a hint for each failure.

    python tools/grade.py 4 --dir path/to/student/04_forms
    python tools/grade.py 4                       # exercises/04_forms if it exists, else the repo's stage
    python tools/grade.py 4 --dir x --junit grade.xml --json grade.json

``make grade 4 DIR=path`` runs this. The checks are the suite's own tests for the
stage (tests/test_04_*.py and tests/browser/test_04_*.py), run by pytest in a child
process against a temporary copy of the folder: the student's folder is never
changed. Exit status: 0 when every check passed, 1 when a check failed or did not
run, 2 when the grader could not do its job (no such folder, no checks).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stages import ROOT, STAGES, stage_dir, stage_number
from processes import stop_group
from stages import not_copied
from stages import test_files as check_files

TOOLS = ROOT / "tools"
TESTS = ROOT / "tests"
EXERCISES = ROOT / "exercises"
VENDOR = Path("app", "static", "vendor", "socket.io.min.js")
REALTIME_STAGE = 7
DEFAULT_TIME_LIMIT = 600     # seconds for the whole run
DEFAULT_IMPORT_TIMEOUT = 20  # seconds for the app to import and build
NOT_COPIED = not_copied()
APP_LOADS = "the_app_loads"
FINISH_GRACE = 10          # seconds a finished run gets to exit before it is stopped
FINISHED_BUT_STUCK = -1000  # exit status of a run that finished its checks but did not exit
STUCK_NOTE = ("After the last check the checks' process did not end and was stopped: does the "
              "app start a thread (or a server) that never ends?")

PASS, FAIL, NOT_RUN = "pass", "fail", "not run"
LABELS = {PASS: "PASS", FAIL: "FAIL", NOT_RUN: "NOT RUN"}
COLOURS = {PASS: "32", FAIL: "31", NOT_RUN: "33"}


class GradingError(Exception):
    """The grader cannot grade (exit status 2): no folder, no checks, a broken suite."""


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


# --- where the checks and the folder come from -------------------------------------------

def choose_folder(number, folder=None, exercises=EXERCISES):
    """(folder, how it was chosen) for stage N: --dir, else the exercise copy, else the repo's."""
    name = STAGES[number]
    if folder is not None:
        return Path(folder).expanduser().resolve(), "the folder you gave"
    exercise = Path(exercises) / name
    if exercise.is_dir():
        return exercise.resolve(), "your exercise copy (no DIR given)"
    return stage_dir(number), f"the repo's own stage (no DIR given, and no exercises/{name} yet)"


def expected_layout(number):
    if number < 5:
        return "app.py"
    return "an app/ package (app/__init__.py with create_app())"


def layout_problem(folder, number):
    """None when the folder has something `flask --app app run` can load; else what is expected."""
    if (folder / "app.py").is_file() or (folder / "app" / "__init__.py").is_file():
        return None
    found = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                   if not p.name.startswith("."))
    lines = [f"Stage {number} expects {expected_layout(number)} directly in the folder: every "
             "stage runs with `flask --app app run`, and the checks load it the same way."]
    if (folder / "main.py").is_file():
        lines.append("This folder has main.py instead: rename it to app.py and keep the Flask "
                     "object in a variable called `app`." if number < 5 else
                     "This folder has main.py instead: its code goes into app/__init__.py "
                     "(create_app) and app/routes.py (a Blueprint), as the lesson shows.")
    elif (folder / "app").is_dir():
        lines.append("This folder has an app/ folder without __init__.py: add app/__init__.py.")
    nested = [p for p in folder.iterdir() if p.is_dir()
              and ((p / "app.py").is_file() or (p / "app" / "__init__.py").is_file())]
    if nested:
        lines.append(f"The stage seems to be one level down, in {nested[0].name}/: grade that "
                     f"folder instead (DIR={folder / nested[0].name}).")
    lines.append("Found: " + (", ".join(found[:12]) + (" ..." if len(found) > 12 else "")
                              if found else "an empty folder") + ".")
    return "\n".join(lines)


def make_copy(folder, number, scratch):
    """Copy the folder into scratch (the student's own is never touched); notes for the reader."""
    copy = Path(scratch) / STAGES[number]
    shutil.copytree(folder, copy, ignore=NOT_COPIED, symlinks=True)
    notes = []
    if number == REALTIME_STAGE and (copy / "app").is_dir() and not (copy / VENDOR).is_file():
        fetched = stage_dir(REALTIME_STAGE) / VENDOR
        if fetched.is_file():
            (copy / VENDOR).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(fetched, copy / VENDOR)
            notes.append(f"Your folder has no {VENDOR} (it is fetched at setup, not committed); "
                         "the grader used the repo's copy.")
        else:
            notes.append(f"Neither your folder nor the repo has {VENDOR}: run `make setup` "
                         "first, or the browser checks will fail.")
    return copy, notes


# --- running things in child processes, always within a time limit ------------------------

def child_env(extra=None):
    # The checks set FLASK_* themselves; a grader's PYTEST_ADDOPTS (say -x) must not change the run.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PYTEST_"))}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TOOLS), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def run_bounded(command, timeout, log_path, cwd=ROOT, env=None, finished=None, grace=FINISH_GRACE):
    """Run command in its own process group; its exit status, or None when stopped at the limit.

    finished() says the work is done even if the process has not exited (a thread the app
    started that never ends): it then gets `grace` seconds before it is stopped. Whatever
    the command left running in its group (servers, browsers) is stopped too.
    """
    deadline = time.monotonic() + timeout
    done_at = None
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env or child_env(), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while True:
                try:
                    code = process.wait(timeout=0.25)
                    break
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                if done_at is None and finished and finished():
                    done_at = now
                if now > deadline or (done_at and now > done_at + grace):
                    stop_group(process)
                    code = None if not done_at else FINISHED_BUT_STUCK
                    break
        except BaseException:  # Ctrl+C: take the checks' servers and browsers down too
            stop_group(process)
            raise
    stop_group(process)  # anything the run left behind in its group
    return code


PREFLIGHT = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
from loader import StageLoadError, load_app
try:
    load_app(sys.argv[2], {"TESTING": True, "LOG_DIR": sys.argv[3]})
except StageLoadError as error:
    result = {"ok": False, "error": str(error)}
else:
    result = {"ok": True}
with open(sys.argv[4], "w", encoding="utf-8") as out:
    json.dump(result, out)
sys.stdout.flush()
os._exit(0)  # done: a thread the app started must not keep this process alive
"""


def preflight(copy, scratch, timeout):
    """None when the app imports and builds within timeout seconds; else why it does not."""
    logs = Path(scratch) / "preflight-logs"
    logs.mkdir(exist_ok=True)
    result_file = Path(scratch) / "preflight.json"
    env = child_env({"FLASK_SECRET_KEY": "grader-preflight-key", "FLASK_LOG_DIR": str(logs)})
    code = run_bounded([sys.executable, "-c", PREFLIGHT, str(TOOLS), str(copy), str(logs),
                        str(result_file)], timeout, Path(scratch) / "preflight.out",
                       cwd=scratch, env=env)
    if code is None:
        return (f"The app did not finish importing within {timeout:g} s. Is app.run() or "
                "socketio.run() called at import time? Put it under "
                "`if __name__ == \"__main__\":` (or leave it out: the course runs "
                "`flask --app app run`). Otherwise look for an endless loop or a wait at "
                "module level.")
    if result_file.is_file():
        result = json.loads(result_file.read_text(encoding="utf-8"))
        if result["ok"]:
            return None
        error = re.sub(r"(\([^()]*\)) \1", r"\1", result["error"])  # "(app.py, line 7)" once
        return f"The app could not be loaded: {error}"
    output = (Path(scratch) / "preflight.out").read_text(encoding="utf-8", errors="replace")
    last = [line for line in output.splitlines() if line.strip()][-1:] or ["(no output)"]
    return (f"Importing the app ended the Python process (exit status {code}) before it was "
            f"built; its last words: {last[0].strip()}")


def read_record(path):
    events = []
    if Path(path).is_file():
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut short by a process that died mid-write
    return events


def run_checks(number, copy, scratch, options):
    """Run the stage's checks with pytest; (events, exit code or None, pytest's output)."""
    record = Path(scratch) / "record.jsonl"
    output = Path(scratch) / "pytest.out"
    command = [sys.executable, "-m", "pytest", *map(str, options.files),
               "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
               "--stage-dir", f"{number}={copy}", "-p", "grade_plugin",
               "--grade-record", str(record), "--basetemp", str(Path(scratch) / "tmp"),
               "-q", "--no-header", "-p", "no:cacheprovider"]
    if options.check_timeout:
        command += ["--timeout", f"{options.check_timeout:g}"]
    for name in options.only:
        command += ["--grade-only", name]
    if options.collect_only:
        command.append("--collect-only")
    left = options.time_limit - (time.monotonic() - options.started)

    def finished():
        return record.is_file() and '"event": "finished"' in record.read_text(encoding="utf-8", errors="replace")

    code = run_bounded(command, max(left, 5), output, finished=finished, grace=options.finish_grace)
    events = read_record(record)
    text = output.read_text(encoding="utf-8", errors="replace")
    if code == FINISHED_BUT_STUCK:
        code = next((e["exitstatus"] for e in events if e["event"] == "finished"), 1)
        text += f"\n{STUCK_NOTE}\n"
    return events, code, text


# --- turning events into checks -----------------------------------------------------------

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
    checks, order = {}, []
    for event in events:
        if event["event"] == "collected":
            checks[event["id"]] = Check(
                id=event["id"], name=event["name"], function=event["function"],
                description=describe(event["name"], event["doc"]),
                browser=event["browser"], doc=event["doc"])
            order.append(event["id"])
    started, finished = set(), set()
    for event in events:
        check = checks.get(event.get("id"))
        if check is None:
            continue
        if event["event"] == "start":
            started.add(check.id)
        elif event["event"] == "report":
            check.duration += event["duration"]
            if event["when"] == "teardown":
                finished.add(check.id)
            if event["outcome"] == "failed":
                if check.status != FAIL:  # the first failure is the reason
                    check.status, check.reason, check.details = FAIL, event["reason"], event["details"]
                    if event["when"] == "teardown":
                        check.reason = "after the check, cleaning up failed: " + check.reason
            elif event["outcome"] == "skipped" and check.status != FAIL:
                check.status, check.reason = NOT_RUN, event["reason"]
            elif event["outcome"] == "passed" and event["when"] == "call":
                check.status = PASS
    for check_id in started - finished:
        check = checks[check_id]
        check.status = FAIL
        check.reason = ("did not finish: the whole grading run hit its time limit" if limit_hit else
                        f"the checks' Python process ended during this check (exit status "
                        f"{exit_code}): does the app call exit() or os._exit()?")
    for check_id in order:
        check = checks[check_id]
        if check_id not in started and check.status == NOT_RUN and not check.reason:
            check.reason = ("not run: the whole grading run hit its time limit" if limit_hit else
                            "not run: the checks' Python process ended before this check")
    return [checks[i] for i in order]


def hint_for(check, number):
    """What to try next, for a failed check.

    A crash or a hang first (whatever a check wants, the app must answer); then the test's
    own "Hint:" paragraph in its docstring; then tools/grade_hints.py; then a general one.
    """
    text = f"{check.reason}\n{check.details}".lower()
    run = f"make stage {number}" if number else "flask --app app run"
    got = re.findall(r"\b(?:answered|got|returned|status(?: code)?|not)\s+(?:with\s+)?(\d{3})\b", text)
    status = got[-1] if got else ""
    # A crash or a hang comes first: whatever the check wants, the app must answer.
    if "time limit" in text or "did not finish" in text:
        return ("Something waits forever: an endless loop, a lock never released, or a wait for "
                "an event that never comes. Try the same step by hand with the app running.")
    if status == "500" or "raised at" in text:
        return ("The app raised an error while answering. Run it with `flask --app app run "
                "--debug`, repeat the step in the browser and read the traceback in the terminal.")
    for paragraph in (check.doc or "").split("\n\n"):
        own = " ".join(paragraph.split())
        if own.lower().startswith("hint:"):
            return own[5:].strip()
    try:
        from grade_hints import HINTS  # noqa: PLC0415 (optional: the grader works without hints)
    except ImportError:
        HINTS = {}
    if check.function in HINTS:
        return HINTS[check.function]
    if "templatenotfound" in text:
        return "Templates belong in templates/ next to app.py (app/templates/ in stages 5-7)."
    if status == "400" or "csrf" in text:
        return ("A form POST needs its CSRF token: put {{ form.csrf_token }} (or "
                "{{ form.hidden_tag() }}) inside the <form>, and give the app a SECRET_KEY.")
    if status == "404":
        return ("No route answered that URL: check the @route path, its converter, its methods "
                "and (stages 5-7) that the blueprint is registered in create_app().")
    if status == "405":
        return "The URL exists but not for this method: list it in methods=[...] on the route."
    if check.browser:
        return (f"Run `{run}`, do the same thing by hand in a browser and watch its console "
                "(F12); the failing page's screenshot and console are saved under test-results/.")
    return (f"Compare with the lesson: {STAGES.get(number, '')}/README.md explains it, and "
            f"`make diff {number}` shows what the stage adds.")


@dataclass
class Verdict:
    stage: int
    folder: str
    graded: str
    source: str
    checks: list
    notes: list
    seconds: float

    @property
    def passed(self):
        return sum(c.status == PASS for c in self.checks)

    @property
    def ok(self):
        return bool(self.checks) and self.passed == len(self.checks)

    def summary(self):
        failed = sum(c.status == FAIL for c in self.checks)
        not_run = sum(c.status == NOT_RUN for c in self.checks)
        return {
            "stage": self.stage, "folder": self.folder, "graded": self.graded,
            "source": self.source, "ok": self.ok, "passed": self.passed,
            "failed": failed, "not_run": not_run, "total": len(self.checks),
            "seconds": round(self.seconds, 2), "notes": self.notes,
            "checks": [{k: v for k, v in asdict(c).items() if k != "doc"} for c in self.checks],
        }


def grade(number, folder, source="", options=None):
    """Grade folder as stage `number`; a Verdict (raises GradingError when it cannot grade)."""
    options = options or Options()
    started = options.started = time.monotonic()
    folder = Path(folder)
    if not folder.exists():
        raise GradingError(f"There is no folder at {folder}.")
    if not folder.is_dir():
        raise GradingError(f"{folder} is a file; give the stage's folder (unzip it first).")
    options.files = check_files(number, browser=not options.no_browser)
    if not options.files:
        raise GradingError(f"Stage {number} has no checks yet (no tests/test_{number:02d}_*.py).")
    notes, checks = [], []
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        try:
            copy, copy_notes = make_copy(folder, number, scratch)
        except (OSError, shutil.Error) as error:
            raise GradingError(f"Could not copy {folder} to grade it: {error}") from None
        notes += copy_notes
        problem = layout_problem(copy, number) or preflight(copy, scratch, options.import_timeout)
        flat, package = (copy / "app.py").is_file(), (copy / "app" / "__init__.py").is_file()
        if number >= 5 and flat and not package:
            notes.append(f"Stage {number} expects an app/ package (app/__init__.py with create_app()); "
                         "this folder has app.py, the layout of stages 1-4.")
        elif number < 5 and package and not flat:
            notes.append(f"Stage {number} expects app.py; this folder has an app/ package, the layout "
                         "of stages 5-7.")
        collect = Options(**{**options.__dict__, "collect_only": bool(problem)})
        events, code, output = run_checks(number, copy, scratch, collect)
        errors = [e for e in events if e["event"] == "collect_error"]
        if errors or (code not in (0, 1, None) and not any(e["event"] == "collected" for e in events)):
            if code == 5 or (not errors and "no tests ran" in output):
                raise GradingError(f"No check of stage {number} matched {options.only}.")
            detail = errors[0]["details"] if errors else output[-3000:]
            raise GradingError("The checks themselves could not be loaded (a problem in the test "
                               f"suite or its setup, not in the graded folder):\n{detail}")
        if code is None and not any(e["event"] == "collected" for e in events):
            raise GradingError(f"The run was stopped at its time limit ({options.time_limit:g} s) "
                               "before the checks were even collected: give it more time.")
        checks = checks_from(events, limit_hit=code is None, exit_code=code)
        loads = Check(id=f"grade::{APP_LOADS}", name=APP_LOADS, function=APP_LOADS,
                      description=("the app loads: the app/ package imports and create_app() "
                                   "builds the app" if package or (number >= 5 and not flat)
                                   else "the app loads: app.py imports and has a Flask `app`"),
                      status=FAIL if problem else PASS, reason=_first(problem), details=problem or "")
        if problem:
            for check in checks:
                check.status, check.reason = NOT_RUN, "not run: the app could not be loaded"
            loads.hint = ("Fix what the line above names, then grade again; every other check "
                          "needs the app to load.")
        checks.insert(0, loads)
        if code is None:
            notes.append(f"The grading run was stopped at its time limit ({options.time_limit:g} s).")
        if STUCK_NOTE in output:
            notes.append(STUCK_NOTE)
        for check in checks:
            check.reason = check.reason.replace(str(copy), str(folder))
            check.details = check.details.replace(str(copy), str(folder))
            if check.status == FAIL and not check.hint:
                check.hint = hint_for(check, number)
    return Verdict(stage=number, folder=STAGES[number], graded=str(folder), source=source,
                   checks=checks, notes=notes, seconds=time.monotonic() - started)


def _first(text):
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


@dataclass
class Options:
    only: list = field(default_factory=list)
    no_browser: bool = False
    check_timeout: float = 0
    import_timeout: float = DEFAULT_IMPORT_TIMEOUT
    time_limit: float = DEFAULT_TIME_LIMIT
    collect_only: bool = False
    files: list = field(default_factory=list)
    started: float = 0.0
    finish_grace: float = FINISH_GRACE


# --- output ------------------------------------------------------------------------------

def paint(text, status, colour):
    return f"\033[{COLOURS[status]}m{text}\033[0m" if colour else text


def scorecard(verdict, colour=False, quiet=False):
    lines = []
    first_with = {}  # reason -> the first failed check that gave it
    for check in verdict.checks:
        if quiet and check.status == PASS:
            continue
        where = " (in the browser)" if check.browser else ""
        label = paint(f"{LABELS[check.status]:<8}", check.status, colour)
        lines.append(f"  {label} {check.description}{where}")
        if check.status == FAIL and check.id.startswith("grade::") and check.details:
            why = check.details.splitlines()  # the grader's own finding: show all of it
        else:
            why = [check.reason] if check.status != PASS and check.reason else []
        earlier = first_with.get(check.reason) if check.status == FAIL else None
        if earlier:  # one cause, many failures: say it once
            lines.append(f"           why:  the same as for \"{earlier.description}\" above")
            continue
        if check.status == FAIL and check.reason:
            first_with[check.reason] = check
        for number, line in enumerate(why):
            lines.append(f"           {'why:  ' if number == 0 else '      '}{line}")
        if check.status == FAIL and check.hint:
            lines.append(f"           hint: {check.hint}")
    for note in verdict.notes:
        lines.append(f"  note: {note}")
    counts = f"{verdict.passed} of {len(verdict.checks)} checks passed"
    extra = []
    failed = sum(c.status == FAIL for c in verdict.checks)
    not_run = sum(c.status == NOT_RUN for c in verdict.checks)
    if failed:
        extra.append(f"{failed} failed")
    if not_run:
        extra.append(f"{not_run} not run")
    lines.append("")
    lines.append(counts + (f" ({', '.join(extra)})" if extra else "") + f" in {verdict.seconds:.1f} s.")
    return "\n".join(lines)


def write_junit(verdict, path):
    summary = verdict.summary()
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", name=f"stage {verdict.stage} ({verdict.folder})",
                          tests=str(summary["total"]), failures=str(summary["failed"]),
                          errors="0", skipped=str(summary["not_run"]), time=f"{verdict.seconds:.3f}")
    for check in verdict.checks:
        classname = check.id.split("::", 1)[0].removesuffix(".py").replace("/", ".")
        case = ET.SubElement(suite, "testcase", classname=classname, name=check.name,
                             time=f"{check.duration:.3f}")
        ET.SubElement(case, "properties").append(
            ET.Element("property", name="description", value=check.description))
        if check.status == FAIL:
            failure = ET.SubElement(case, "failure", message=check.reason)
            failure.text = check.details + (f"\n\nHint: {check.hint}" if check.hint else "")
        elif check.status == NOT_RUN:
            ET.SubElement(case, "skipped", message=check.reason)
    ET.indent(suites)
    Path(path).write_bytes(ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n")


def write_json(verdict, path):
    Path(path).write_text(json.dumps(verdict.summary(), indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", help="stage number, e.g. 4")
    parser.add_argument("--dir", type=Path, help="the student's folder (default: the exercise "
                        "copy in exercises/, else the repo's stage)")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write a JSON summary")
    parser.add_argument("--only", action="append", default=[], metavar="CHECK",
                        help="run only this check (a test function name; repeatable)")
    parser.add_argument("--no-browser", action="store_true", help="leave the browser checks out")
    parser.add_argument("--check-timeout", type=float, default=0, metavar="S",
                        help="time limit of one check (default: pyproject.toml's)")
    parser.add_argument("--import-timeout", type=float, default=DEFAULT_IMPORT_TIMEOUT, metavar="S",
                        help=f"time for the app to import (default {DEFAULT_IMPORT_TIMEOUT})")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="S",
                        help=f"time limit of the whole run (default {DEFAULT_TIME_LIMIT})")
    parser.add_argument("--exercises", type=Path, default=EXERCISES, help=argparse.SUPPRESS)
    parser.add_argument("--finish-grace", type=float, default=FINISH_GRACE, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="list only the checks that did not pass")
    args = parser.parse_args(argv)
    try:
        number = stage_number(args.stage)
    except ValueError as error:
        parser.exit(2, f"{error}\n")
    folder, source = choose_folder(number, args.dir, args.exercises)
    options = Options(only=args.only, no_browser=args.no_browser, check_timeout=args.check_timeout,
                      import_timeout=args.import_timeout, time_limit=args.time_limit,
                      finish_grace=args.finish_grace)
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    print(f"Grading stage {number} ({STAGES[number]}): {folder}", flush=True)
    print(f"  that is {source}; the checks run on a temporary copy, the folder is not changed.",
          flush=True)
    try:
        verdict = grade(number, folder, source, options)
    except GradingError as error:
        print(f"\nCannot grade: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 130
    print()
    print(scorecard(verdict, colour=colour, quiet=args.quiet))
    if args.junit:
        write_junit(verdict, args.junit)
        print(f"JUnit XML written to {args.junit}")
    if args.json:
        write_json(verdict, args.json)
        print(f"JSON summary written to {args.json}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
