"""Grade every folder in a class's submissions folder: `make grade-all N SUBMISSIONS=dir OUT=dir`.

See tools/grading/batch.py for what OUT gets. Exit status: 0 when every submission was
graded (whatever its score), 1 when some could not be graded, 2 when nothing could be.
"""
import argparse
import sys
import time
from pathlib import Path

from grading.batch import grade_all
from grading.sandbox import KINDS, detect
from stages import STAGES, stage_argument


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", type=stage_argument, help="stage number, e.g. 4")
    parser.add_argument("--submissions", type=Path, required=True, help="one sub-folder per submission")
    parser.add_argument("--out", type=Path, required=True, help="where the gradebook and reports go")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default 2)")
    parser.add_argument("--time-limit", type=float, default=600, help="seconds per submission (default 600)")
    parser.add_argument("--import-timeout", type=float, default=20, help="seconds for an app to import (default 20)")
    parser.add_argument("--no-browser", action="store_true", help="leave the browser checks out")
    args = parser.parse_args(argv)
    number = args.stage
    if not args.submissions.is_dir():
        parser.exit(2, f"There is no folder at {args.submissions}: SUBMISSIONS=dir names the folder "
                       "holding one folder per submission.\n")
    out, submissions = args.out.resolve(), args.submissions.resolve()
    if out == submissions or submissions in out.parents:
        parser.exit(2, "OUT must not be inside SUBMISSIONS (it would be graded as a submission).\n")
    started = time.monotonic()
    kind = detect()
    print(f"Grading stage {number} ({STAGES[number]}) for every folder in {submissions}, "
          f"{args.jobs} at a time; {KINDS[kind]}.", flush=True)
    rows = grade_all(number, submissions, out, jobs=args.jobs, time_limit=args.time_limit,
                     extra=["--import-timeout", f"{args.import_timeout:g}", *(["--no-browser"] if args.no_browser else [])],
                     progress=lambda score, name: print(f"{score}  {name}", flush=True))
    if not rows:
        print(f"No submissions: {submissions} has no sub-folders.", file=sys.stderr)
        return 2
    failed = [r for r in rows if r["verdict"] is None]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} submissions graded in "
          f"{time.monotonic() - started:.0f} s: {out / 'grades.csv'}, {out / 'index.html'}")
    for row in failed:
        print(f"  could not grade {row['name']!r}: {row['error']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
