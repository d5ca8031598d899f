"""Grade a student's copy of a stage: one line per check, a reason and a hint for each failure.

    python tools/grade.py 4 --dir path/to/student/04_forms
    python tools/grade.py 4                       # exercises/04_forms if it exists, else the repo's stage
    python tools/grade.py 4 --dir x --junit grade.xml --json grade.json

``make grade 4 DIR=path`` runs this. The checks are the suite's own tests for the
stage (tests/test_04_*.py and tests/browser/test_04_*.py), run by pytest in a sandbox
(tools/grading/sandbox.py): the student's app, a private copy of the
folder, never runs in that pytest process but as servers of tools/grading/app_host.py in a
sandbox of its own, which the checks reach over HTTP, Socket.IO and a browser. The
student's folder, the checkout, .venv and the output files are never writable by the graded
code. The verdict files are written by this process after the sandboxes are gone.

Exit status: 0 when every check passed, 1 when a check failed or did not run, 2 when
the grader could not do its job (no such folder, no checks).

The jobs live in tools/grading/: submission.py (which folder, its layout, its copy),
sandbox.py, checks.py (running and reading the checks), hints.py, report.py (scorecard,
JSON, JUnit, Gradescope), batch.py (`make grade-all`), gradescope.py (`make gradescope`).
"""
import argparse
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

from stages import ROOT, STAGES, check_names, is_package_stage, stage_argument, stage_dir, test_files

from grading import sandbox as sandboxes
from grading.checks import (APP_LOADS, FAIL, NOT_RUN, PASS, STUCK_NOTE, Check, RunMismatch,  # noqa: F401
                            app_error, checks_from, describe, expected_checks, run_checks)
from grading.hints import hint_for
from grading.report import Verdict, gradescope_results, plain, scorecard, write_file, write_json, write_junit
from grading.submission import EXERCISES, GradingError, choose_folder, layout_note, layout_problem, make_copy

DEFAULT_TIME_LIMIT = 600     # seconds for the whole run
DEFAULT_IMPORT_TIMEOUT = 20  # seconds for the app to import and build
FINISH_GRACE = 10            # seconds a finished run gets to exit before it is stopped
MANY_CHECKS = 35             # a stage with this many check functions is checked by BIG_STAGE_WORKERS processes
BIG_STAGE_WORKERS = 3        # more than two cores hold: its checks mostly wait on servers and a browser


@dataclass
class Options:
    only: list = field(default_factory=list)
    no_browser: bool = False
    check_timeout: float = 0
    import_timeout: float = DEFAULT_IMPORT_TIMEOUT
    time_limit: float = DEFAULT_TIME_LIMIT
    collect_only: bool = False
    started: float = 0.0
    finish_grace: float = FINISH_GRACE
    hide: list = field(default_factory=list)  # more paths the graded code must not see
    artifacts: Path = None                    # where failing browser checks' screenshots go
    workers: int = 1                          # pytest-xdist workers running the checks
    cpus: float = None                        # cores the grading may use at most (None: all)

    def elapsed(self):
        return time.monotonic() - self.started


def _git_dirs():
    """The checkout's git data (a worktree's .git file and the common folder): it holds the solutions."""
    found = [ROOT / ".git"]
    try:
        common = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--git-common-dir"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        common = ""
    if common:
        found.append((ROOT / common).resolve())
    return found


def hidden_paths(folder, options, outputs):
    """What the graded code must not see: the solutions, the original folder, every output."""
    paths = [stage_dir(n) for n in STAGES] + [EXERCISES, *_git_dirs(), folder, *options.hide]
    for output in outputs:
        if output:
            paths += [Path(output).parent, Path(output)]
    return paths


SCRATCH = Path(tempfile.gettempdir()) / "flask-stages-grading"
STALE_AFTER = 60  # seconds: a scratch folder younger than this may be one whose grader is still taking its lock


@contextmanager
def scratch_folder():
    """A scratch folder of this grading's own, locked while it lives and removed at the end; and,
    first, every one a grader left when it was killed (older than a minute, its lock free)."""
    SCRATCH.mkdir(mode=0o755, exist_ok=True)
    for stale in SCRATCH.iterdir():
        try:
            if time.time() - stale.lstat().st_mtime < STALE_AFTER:
                continue
            handle = os.open(stale, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(stale, ignore_errors=True)
        except BlockingIOError:
            pass  # a grading still running
        finally:
            os.close(handle)
    folder = Path(tempfile.mkdtemp(prefix="grade-", dir=SCRATCH))
    folder.chmod(0o711)  # the sandbox's user (nobody, under root) reaches its folders in it, lists none
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(handle)


def grade(number, folder, source="", options=None, outputs=()):
    """Grade folder as stage `number`; a Verdict (raises GradingError when it cannot grade)."""
    options = options or Options()
    started = options.started = time.monotonic()
    folder = Path(folder)
    if not folder.exists():
        raise GradingError(f"There is no folder at {folder}.")
    if not folder.is_dir():
        raise GradingError(f"{folder} is a file; give the stage's folder (unzip it first).")
    files = test_files(number, browser=not options.no_browser)
    if not files:
        raise GradingError(f"Stage {number} has no checks yet (no tests/test_{number:02d}_*.py).")
    kind = sandboxes.detect()
    notes = []
    with scratch_folder() as scratch:
        work = scratch / "work"
        work.mkdir()
        # The submission as handed in: copied before any of its code runs; the app never sees it.
        pristine, copy_notes, problem = make_copy(folder, number, scratch / "pristine")
        area = sandboxes.APP_AREA if kind == "bwrap" else work / "app"
        sandbox = sandboxes.Sandbox(work=work, kind=kind, app_area=area, readonly=[pristine.parent], cpus=options.cpus,
                                    hide=hidden_paths(folder, options, outputs),
                                    keep=[ROOT / "tests", ROOT / "tools", ROOT / "pyproject.toml",
                                          Path(sys.prefix), Path(sys.base_prefix),
                                          Path(sys.executable).resolve().parent])
        notes += copy_notes
        note = layout_note(pristine, number)
        if note:
            notes.append(note)
        problem = problem or layout_problem(pristine, number)
        # The checks, collected by a run in which no code of the submission runs: the run that
        # checks must report exactly these.
        collected, code, output = run_checks(sandbox, number, pristine, scratch,
                                             Options(**{**options.__dict__, "collect_only": True}), files)
        errors = [e for e in collected if e["event"] == "collect_error"]
        expected = expected_checks(collected)
        if errors or not expected:
            if code == 5 or (not errors and "no tests ran" in output):
                raise GradingError(f"No check of stage {number} matched {options.only}.")
            if code is None:
                raise GradingError(f"The run was stopped at its time limit ({options.time_limit:g} s) "
                                   "before the checks were even collected: give it more time.")
            detail = str(errors[0].get("details")) if errors else output[-3000:]
            raise GradingError("The checks themselves could not be loaded (a problem in the test "
                               f"suite or its setup, not in the graded folder):\n{detail}")
        events, code = [], 0
        if not problem:
            events, code, output = run_checks(sandbox, number, pristine, scratch, options, files)
        # The first check that needed the app's server and could not start it says why.
        problem = problem or app_error(events)
        try:
            checks = checks_from(expected, events, limit_hit=code is None, exit_code=code)
        except RunMismatch as error:
            raise GradingError(f"The checks' run cannot be trusted ({error}); the folder was not graded.") from None
        checks = with_app_loads(checks, pristine, number, problem)
        if code is None:
            notes.append(f"The grading run was stopped at its time limit ({options.time_limit:g} s).")
        if STUCK_NOTE in output:
            notes.append(STUCK_NOTE)
        inner = [str(sandbox.app_area / pristine.name), str(pristine)]
        for check in checks:
            for path in inner:
                check.reason = check.reason.replace(path, str(folder))
                check.details = check.details.replace(path, str(folder))
            if check.status == FAIL and not check.hint:
                check.hint = hint_for(check, number)
        # The checks' pytest-playwright --output (grading/checks.py): screenshots and console.txt.
        if options.artifacts and copy_artifacts(work / "browser", Path(options.artifacts)):
            notes.append(f"The failing browser checks' screenshots and console: {options.artifacts}")
    return Verdict(stage=number, folder=STAGES[number], graded=str(folder), source=source,
                   checks=checks, notes=notes, seconds=time.monotonic() - started,
                   isolation=kind, isolation_note=sandbox.description)


def with_app_loads(checks, folder, number, problem):
    """The grader's own first check, "the app loads", before the checks; problem is why it does not
    (then no other check counts: each is NOT RUN), or None. (tools/watch.py shows it the same way.)"""
    package = (folder / "app" / "__init__.py").is_file() or (is_package_stage(number) and not (folder / "app.py").is_file())
    loads = Check(id=f"grade::{APP_LOADS}", name=APP_LOADS, function=APP_LOADS,
                  description=("the app loads: the app/ package imports and create_app() "
                               "builds the app" if package
                               else "the app loads: app.py imports and has a Flask `app`"),
                  status=FAIL if problem else PASS, reason=_first(problem), details=problem or "")
    if problem:
        for check in checks:
            check.status, check.reason = NOT_RUN, "not run: the app could not be loaded"
        loads.hint = "Fix what the line above names; every other check needs the app to load."
    return [loads, *checks]


def default_workers(number, args):
    """Several processes for a big stage (its checks mostly wait on servers and a browser), else one."""
    if args.only:
        return 1
    count = len(check_names(number, browser=not args.no_browser))
    return BIG_STAGE_WORKERS if count >= MANY_CHECKS else 1


def descend(folder):
    """folder, or its one sub-folder when only that one holds an app (a zipped folder)."""
    if not folder.is_dir() or (folder / "app.py").exists() or (folder / "app").exists():
        return folder
    inside = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    if len(inside) == 1 and inside[0].is_dir() and not inside[0].is_symlink():
        return inside[0]
    return folder


def copy_artifacts(source, target):
    """The failing browser checks' screenshots and console, regular files only (no links out).

    Whatever a browser would open as a page (.html, .svg, ...) may hold the app's scripts: it
    is kept as text (page.html.txt), which no browser runs."""
    copied = 0
    if not source.is_dir() or source.is_symlink():
        return copied
    for parent, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if not Path(parent, d).is_symlink()]
        for name in files:
            path = Path(parent, name)
            if path.is_symlink() or not path.is_file():
                continue
            destination = target / path.relative_to(source)
            if destination.suffix.lower() in (".html", ".htm", ".svg", ".xhtml"):
                destination = destination.with_name(destination.name + ".txt")
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            copied += 1
    return copied


def cannot_grade(number, folder, reason, args):
    """Say why on stderr, and write every output asked for: a platform needs them whatever happened."""
    print(f"\nCannot grade: {reason}", file=sys.stderr)
    summary = {"stage": number, "folder": STAGES[number], "graded": plain(folder), "ok": False,
               "could_not_grade": reason, "passed": 0, "failed": 0, "not_run": 0, "total": 0, "checks": []}
    if args.json:
        write_file(args.json, (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    if args.junit:
        root = ET.Element("testsuites")
        suite = ET.SubElement(root, "testsuite", name=f"stage {number} ({STAGES[number]})", tests="1", errors="1")
        ET.SubElement(ET.SubElement(suite, "testcase", classname="grade", name="grading"), "error", message=reason)
        write_file(args.junit, ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
    if args.gradescope:
        write_file(args.gradescope, json.dumps(
            {"score": 0, "output": f"Cannot grade: {reason}", "visibility": "visible", "tests": []},
            indent=2, ensure_ascii=False).encode("utf-8"))


KEEP_ARTIFACTS = 10  # gradings whose screenshots stay in test-results/grade/


def prune(folder):
    """The screenshots of all but the newest KEEP_ARTIFACTS gradings go (the folders are named by time)."""
    if folder.is_dir():
        for old in sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)[:-KEEP_ARTIFACTS]:
            shutil.rmtree(old, ignore_errors=True)


def _first(text):
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", type=stage_argument, help="stage number, e.g. 4")
    parser.add_argument("--dir", type=Path, help="the student's folder (default: the exercise "
                        "copy in exercises/, else the repo's stage)")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write a JSON summary")
    parser.add_argument("--gradescope", type=Path, metavar="FILE",
                        help="also write Gradescope's results.json")
    parser.add_argument("--artifacts", type=Path, metavar="DIR",
                        help="where failing browser checks' screenshots go (default test-results/grade/<stage>-<time>-<pid>)")
    parser.add_argument("--only", action="append", default=[], metavar="CHECK",
                        help="run only this check (a test function name; repeatable)")
    parser.add_argument("--no-browser", action="store_true", help="leave the browser checks out")
    parser.add_argument("--check-timeout", type=float, default=0, metavar="S",
                        help="time limit of one check (default: pyproject.toml's)")
    parser.add_argument("--import-timeout", type=float, default=DEFAULT_IMPORT_TIMEOUT, metavar="S",
                        help=f"time for the app to import (default {DEFAULT_IMPORT_TIMEOUT})")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="S",
                        help=f"time limit of the whole run (default {DEFAULT_TIME_LIMIT})")
    parser.add_argument("--descend", action="store_true",
                        help="when the folder holds just one folder with the stage in it, grade that "
                             "(an upload that zipped its folder)")
    parser.add_argument("--hide", type=Path, action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--exercises", type=Path, default=EXERCISES, help=argparse.SUPPRESS)
    parser.add_argument("--finish-grace", type=float, default=FINISH_GRACE, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, metavar="N",
                        help=f"run the checks in N processes (pytest-xdist); default: {BIG_STAGE_WORKERS} for a stage of "
                             f"{MANY_CHECKS} checks or more, else 1")
    parser.add_argument("--quiet", action="store_true", help="list only the checks that did not pass")
    parser.add_argument("--cpus", type=float, metavar="N",
                        help="cores the grading may use at most, however many processes the app starts "
                             "(a cgroup's CPU quota, where the machine lets the grader make one; default: all)")
    args = parser.parse_args(argv)
    number = args.stage
    folder, source = choose_folder(number, args.dir, args.exercises)
    if args.descend:
        folder = descend(folder)
    # Each grading its own folder: two at once never mix their screenshots.
    artifacts = args.artifacts or Path(os.environ.get("BROWSER_ARTIFACTS") or ROOT / "test-results" / "grade" / (
        f"{STAGES[number]}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"))
    outputs = [p and Path(os.path.abspath(p)) for p in (args.json, args.junit, args.gradescope, artifacts)]
    options = Options(only=args.only, no_browser=args.no_browser, check_timeout=args.check_timeout,
                      import_timeout=args.import_timeout, time_limit=args.time_limit,
                      finish_grace=args.finish_grace, hide=args.hide, artifacts=artifacts,
                      workers=args.workers or default_workers(number, args), cpus=args.cpus)
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    print(f"Grading stage {number} ({STAGES[number]}): {plain(folder)}", flush=True)
    print(f"  that is {source}; the checks run on a private copy, the folder is not changed.",
          flush=True)
    # A grader stopped with SIGTERM cleans up as on Ctrl+C (SIGKILL's leftovers go at the next start).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not args.artifacts and not os.environ.get("BROWSER_ARTIFACTS"):
        prune(artifacts.parent)
    try:
        verdict = grade(number, folder, source, options, outputs=outputs)
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001  whatever went wrong, the platforms get "could not grade"
        reason = str(error) if isinstance(error, GradingError) else (
            f"the grader itself failed ({type(error).__name__}: {error}); this is a bug in the grader, "
            "not in the graded folder")
        cannot_grade(number, folder, plain(reason), args)
        return 2
    print()
    print(scorecard(verdict, colour=colour, quiet=args.quiet))
    if args.junit:
        write_junit(verdict, args.junit)
        print(f"JUnit XML written to {args.junit}")
    if args.json:
        write_json(verdict, args.json)
        print(f"JSON summary written to {args.json}")
    if args.gradescope:
        write_file(args.gradescope, json.dumps(gradescope_results(verdict), indent=2,
                                               ensure_ascii=False).encode("utf-8"))
        print(f"Gradescope results written to {args.gradescope}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
