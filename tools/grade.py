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
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from stages import ROOT, STAGES, is_package_stage, stage_argument, stage_dir, test_files

from grading import sandbox as sandboxes
from grading.checks import (APP_LOADS, FAIL, NOT_RUN, PASS, STUCK_NOTE, Check, app_error,  # noqa: F401
                            checks_from, describe, run_checks)
from grading.hints import hint_for
from grading.report import Verdict, gradescope_results, scorecard, write_file, write_json, write_junit
from grading.submission import EXERCISES, GradingError, choose_folder, layout_note, layout_problem, make_copy

DEFAULT_TIME_LIMIT = 600     # seconds for the whole run
DEFAULT_IMPORT_TIMEOUT = 20  # seconds for the app to import and build
FINISH_GRACE = 10            # seconds a finished run gets to exit before it is stopped
MANY_CHECKS = 35             # a stage with this many check functions is checked by BIG_STAGE_WORKERS processes
BIG_STAGE_WORKERS = 3        # stage 7 on 2 cores: 21.2 s with 2, 18.9 s with 3; 12 copies in a class: 175 s either way


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
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        work = Path(scratch) / "work"
        work.mkdir()
        sandbox = sandboxes.Sandbox(work=work, kind=kind,
                                    hide=hidden_paths(folder, options, outputs),
                                    keep=[ROOT / "tests", ROOT / "tools", ROOT / "pyproject.toml",
                                          Path(sys.prefix), Path(sys.base_prefix),
                                          Path(sys.executable).resolve().parent])
        try:  # a pristine copy the sandbox never sees; each run gets a fresh copy of it
            pristine, copy_notes, problem = make_copy(folder, number, Path(scratch) / "pristine")
        except (OSError, shutil.Error, ValueError) as error:
            raise GradingError(f"Could not copy {folder} to grade it: {error}") from None
        copy = work / pristine.name
        notes += copy_notes
        note = layout_note(pristine, number)
        if note:
            notes.append(note)
        problem = problem or layout_problem(pristine, number)
        fresh_copy(pristine, copy)
        collect = Options(**{**options.__dict__, "collect_only": bool(problem)})
        events, code, output, junit = run_checks(sandbox, number, copy, scratch, collect, files)
        # The first check that needed the app's server and could not start it says why.
        problem = problem or app_error(events)
        errors = [e for e in events if e["event"] == "collect_error"]
        if errors or (code not in (0, 1, None) and not any(e["event"] == "collected" for e in events)):
            if code == 5 or (not errors and "no tests ran" in output):
                raise GradingError(f"No check of stage {number} matched {options.only}.")
            detail = str(errors[0].get("details")) if errors else output[-3000:]
            raise GradingError("The checks themselves could not be loaded (a problem in the test "
                               f"suite or its setup, not in the graded folder):\n{detail}")
        if code is None and not any(e["event"] == "collected" for e in events):
            raise GradingError(f"The run was stopped at its time limit ({options.time_limit:g} s) "
                               "before the checks were even collected: give it more time.")
        checks = with_app_loads(checks_from(events, limit_hit=code is None, exit_code=code), pristine, number, problem)
        if code is None:
            notes.append(f"The grading run was stopped at its time limit ({options.time_limit:g} s).")
        if STUCK_NOTE in output:
            notes.append(STUCK_NOTE)
        for check in checks:
            check.reason = check.reason.replace(str(copy), str(folder))
            check.details = check.details.replace(str(copy), str(folder))
            if check.status == FAIL and not check.hint:
                check.hint = hint_for(check, number)
        junit_bytes = junit.read_bytes() if junit.is_file() and not junit.is_symlink() else b""
        if options.artifacts and copy_artifacts(work / "browser", Path(options.artifacts)):
            notes.append(f"The failing browser checks' screenshots and console: {options.artifacts}")
    return Verdict(stage=number, folder=STAGES[number], graded=str(folder), source=source,
                   checks=checks, notes=notes, seconds=time.monotonic() - started,
                   isolation=kind, isolation_note=sandboxes.KINDS[kind], junit=junit_bytes)


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
    count = sum(len(re.findall(r"^def test_", path.read_text(encoding="utf-8"), re.M))
                for path in test_files(number, browser=not args.no_browser))
    return BIG_STAGE_WORKERS if count >= MANY_CHECKS else 1


def descend(folder):
    """folder, or its one sub-folder when only that one holds an app (a zipped folder)."""
    if not folder.is_dir() or (folder / "app.py").exists() or (folder / "app").exists():
        return folder
    inside = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    if len(inside) == 1 and inside[0].is_dir() and not inside[0].is_symlink():
        return inside[0]
    return folder


def fresh_copy(pristine, copy):
    """The submission as it was handed in, whatever a previous run in the sandbox did to it."""
    if copy.exists() or copy.is_symlink():
        shutil.rmtree(copy) if copy.is_dir() and not copy.is_symlink() else copy.unlink()
    shutil.copytree(pristine, copy, symlinks=True)


def copy_artifacts(source, target):
    """The failing browser checks' screenshots and console, regular files only (no links out)."""
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
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            copied += 1
    return copied


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
                      workers=args.workers or default_workers(number, args))
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    print(f"Grading stage {number} ({STAGES[number]}): {folder}", flush=True)
    print(f"  that is {source}; the checks run on a private copy, the folder is not changed.",
          flush=True)
    try:
        verdict = grade(number, folder, source, options, outputs=outputs)
    except GradingError as error:
        print(f"\nCannot grade: {error}", file=sys.stderr)
        if args.gradescope:  # the platform needs a results file whatever happened
            write_file(args.gradescope, json.dumps(
                {"score": 0, "output": f"Cannot grade: {error}", "visibility": "visible", "tests": []},
                indent=2, ensure_ascii=False).encode("utf-8"))
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
    if args.gradescope:
        write_file(args.gradescope, json.dumps(gradescope_results(verdict), indent=2,
                                               ensure_ascii=False).encode("utf-8"))
        print(f"Gradescope results written to {args.gradescope}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
