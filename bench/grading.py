"""How fast the grader is, against the time a grading should take, measured.

    python bench/grading.py                      # every stage's own folder, 3 runs each
    python bench/grading.py --stages 1 7 --runs 5
    python bench/grading.py --class-size 30      # also `grade-all` on 30 copies of stage 7

Each run is `tools/grade.py N` on the repo's stage (browser checks included), as a grader
would run it; the table gives the median and the spread. The class run copies stage 7 into
a temporary folder CLASS_SIZE times and times `tools/grade_all.py 7 --jobs 2`.
Run it on a quiet machine: other work on the same cores shows up in every figure.
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from stages import COURSE, STAGES, not_copied, stage_dir  # noqa: E402

TARGETS = {n: stage.grading_seconds for n, stage in COURSE.items()}  # seconds a grading should take (course.toml)
CLASS_TARGET = 360.0  # 30 stage-7 copies, seconds


def timed(command):
    started = time.monotonic()
    ran = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return time.monotonic() - started, ran


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, nargs="*", default=list(STAGES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--class-size", type=int, default=0, help="also grade this many stage-7 copies")
    args = parser.parse_args(argv)
    print(f"{'stage':<18} {'median':>8} {'min':>7} {'max':>7} {'target':>7}  runs (s)")
    for number in args.stages:
        seconds = []
        for _ in range(args.runs):
            took, ran = timed([sys.executable, "tools/grade.py", str(number), "--quiet"])
            if ran.returncode != 0:
                print(ran.stdout)
                raise SystemExit(f"Grading stage {number}'s own folder did not pass (exit {ran.returncode})")
            seconds.append(took)
        median = statistics.median(seconds)
        mark = "ok" if median <= TARGETS[number] else "MISSED"
        print(f"{STAGES[number]:<18} {median:8.1f} {min(seconds):7.1f} {max(seconds):7.1f} {TARGETS[number]:7.0f}"
              f"  {' '.join(f'{s:.1f}' for s in seconds)}  {mark}", flush=True)
    if args.class_size:
        with tempfile.TemporaryDirectory(prefix="bench-class-") as scratch:
            submissions = Path(scratch) / "submissions"
            for index in range(args.class_size):
                shutil.copytree(stage_dir(7), submissions / f"student-{index:02d}", ignore=not_copied())
            took, ran = timed([sys.executable, "tools/grade_all.py", "7", "--submissions", str(submissions),
                               "--out", str(Path(scratch) / "out"), "--jobs", "2"])
            print(ran.stdout[-600:])
            # Every copy is the reference: a check it failed is a flaky check, reported in full.
            for verdict_file in sorted((Path(scratch) / "out" / "submissions").glob("*/verdict.json")):
                verdict = json.loads(verdict_file.read_text(encoding="utf-8"))
                for check in verdict["checks"]:
                    if check["status"] != "pass":
                        print(f"FLAKY? {verdict_file.parent.name}: {check['name']} ({check['status']}): "
                              f"{check['reason']}\n{check['details']}", flush=True)
            mark = "ok" if took <= CLASS_TARGET else "MISSED"
            print(f"grade-all of {args.class_size} stage-7 copies, 2 jobs: {took:.0f} s "
                  f"(target {CLASS_TARGET:.0f} s for 30)  {mark}")


if __name__ == "__main__":
    main()
