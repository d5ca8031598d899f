"""The student's loop: start an exercise from the stage before, grade it, see where you stand.

    python tools/exercise.py start 4     # exercises/04_forms/, a copy of 03_params to grow
    python tools/exercise.py progress    # one line per stage: passes, k of n, or not started

``make exercise 4`` and ``make progress`` run these; ``make grade 4`` grades
exercises/04_forms/ when it exists. exercises/ is git-ignored: it is the student's.
"""
import argparse
import shutil
import sys
from pathlib import Path

from stages import ROOT, STAGES, fetched, not_copied, stage_argument, stage_dir

EXERCISES = ROOT / "exercises"


def shown(path):
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def start(number, exercises=EXERCISES):
    name = STAGES[number]
    target = Path(exercises) / name
    if target.exists():
        print(f"{shown(target)} already exists: it is your work, so it is left as it is.\n"
              f"Grade it with `make grade {number}`, or delete the folder to start again.",
              file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    if number == 1:
        target.mkdir()
        shutil.copy2(stage_dir(1) / "requirements.txt", target / "requirements.txt")
        origin = "an empty folder (stage 1 is where the course starts)"
    else:
        before = STAGES[number - 1]
        shutil.copytree(stage_dir(number - 1), target, ignore=not_copied("README.md"))
        origin = f"a copy of {before}"
        for _, item in fetched(number):  # a library, not part of the lesson
            vendor, ours = target / item.path, stage_dir(number) / item.path
            if (target / item.path.parts[0]).is_dir() and ours.is_file() and not vendor.exists():
                vendor.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ours, vendor)
    note = (f"# Exercise: stage {number}, {name}\n\n"
            f"This folder started as {origin}. Grow it into stage {number}: the lesson is\n"
            f"{name}/README.md. When you are stuck, `make diff {number}` shows what the stage adds.\n\n"
            f"    make stage {number} DIR=exercises/{name}   # serve it, restarting at every save\n"
            f"    make watch {number}      # the checks of stage {number} on this folder, again at every save\n"
            f"    make grade {number}      # the same checks, as a scorecard\n"
            f"    make progress     # which exercises pass\n")
    (target / "README.md").write_text(note, encoding="utf-8")
    where = shown(target)
    print(f"Your exercise is in {where}/, {origin}.")
    print(f"  1. Read the lesson: {name}/README.md")
    print(f"  2. Change the code in {where}/ until it does what stage {number} does.")
    print(f"     Run it: make stage {number} DIR={where}   (it restarts when you save)")
    print(f"  3. Check it: make watch {number}   (the checks again at every save; make grade {number} for the scorecard)")
    if number > 1:
        print(f"  Right now it is stage {number - 1}, so the checks of stage {number}'s new idea fail:"
              " that is where you start.")
    return 0


def progress(exercises=EXERCISES, out=sys.stdout, browser=True):
    from grade import GradingError, Options, grade  # noqa: PLC0415 (heavy; only needed here)

    width = max(len(name) for name in STAGES.values())
    print("Your exercises (make exercise N starts one; make grade N shows the details):", file=out)
    for number, name in STAGES.items():
        folder = Path(exercises) / name
        if not folder.is_dir():
            line = "not started"
        else:
            try:
                verdict = grade(number, folder, "your exercise copy", Options(no_browser=not browser))
            except GradingError as error:
                line = f"cannot be graded: {str(error).splitlines()[0]}"
            else:
                total = len(verdict.checks)
                line = (f"passes: all {total} checks" if verdict.ok else
                        f"{verdict.passed} of {total} checks pass")
        print(f"  {number}  {name:<{width}}  {line}", file=out, flush=True)
    return 0  # a report, not a test: make should not call it an error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercises", type=Path, default=EXERCISES, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start", help="start stage N's exercise").add_argument("stage", type=stage_argument)
    commands.add_parser("progress", help="which exercises pass").add_argument(
        "--no-browser", action="store_true", help="leave the browser checks out (faster)")
    args = parser.parse_args(argv)
    if args.command == "progress":
        return progress(args.exercises, browser=not args.no_browser)
    return start(args.stage, args.exercises)


if __name__ == "__main__":
    sys.exit(main())
