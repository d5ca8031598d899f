"""Show what stage N adds to stage N-1: its code, templates and static files.

    python tools/diff_stages.py 4            # 03_params -> 04_forms
    python tools/diff_stages.py 4 --stat     # just the list of changed files

The lesson note (README.md), local configuration, logs, caches and fetched
libraries are left out, so the diff reads as the lesson. Coloured on a
terminal, plain when piped.
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from stages import NOT_IN_DIFF, STAGES, left_out, stage_argument, stage_dir


def copy_lesson_files(source, target):
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and not left_out(relative, NOT_IN_DIFF):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / relative)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", type=stage_argument)
    parser.add_argument("--stat", action="store_true", help="list the changed files only")
    args = parser.parse_args(argv)
    number = args.stage
    if number == 1:
        parser.exit(2, "Stage 1 is where the course starts: there is nothing before it to compare.\n")
    before, after = STAGES[number - 1], STAGES[number]
    with tempfile.TemporaryDirectory() as scratch:
        for stage in (number - 1, number):
            (Path(scratch) / STAGES[stage]).mkdir()
            copy_lesson_files(stage_dir(stage), Path(scratch) / STAGES[stage])
        command = ["git", "-c", "core.quotepath=off", "diff", "--no-index", "--color=auto",
                   "--stat" if args.stat else "--patch", before, after]
        result = subprocess.run(command, cwd=scratch)
    return 0 if result.returncode in (0, 1) else result.returncode  # 1 means "they differ"


if __name__ == "__main__":
    sys.exit(main())
