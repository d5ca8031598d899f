"""How long a student waits at the very first `make stage 1`: from a fresh clone, no .venv, to a page.

    python3 bench/first_stage.py            # 3 runs; prints each and the median
    python3 bench/first_stage.py --runs 5

Each run clones this checkout's committed state into an empty temporary folder, starts
`make stage 1` there (it creates .venv and installs the lessons' packages: pip's cache decides
most of the time), polls http://127.0.0.1:PORT/ until it answers, then stops make and its
server and deletes the clone. Run it with plain python3: it needs nothing from .venv.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from processes import stop_group  # noqa: E402
from stages import ROOT, free_port  # noqa: E402

LIMIT = 600  # seconds one run may take before it counts as failed


def answers(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def one_run():
    with tempfile.TemporaryDirectory(prefix="first-stage-") as scratch:
        clone = Path(scratch) / "flask-stages"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        port = free_port()
        log = Path(scratch) / "make.log"
        with open(log, "w") as output:
            started = time.monotonic()
            make = subprocess.Popen(["make", "--no-print-directory", "stage", "1", f"PORT={port}"], cwd=clone,
                                    stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                while not answers(port):
                    if make.poll() is not None or time.monotonic() - started > LIMIT:
                        raise SystemExit(f"`make stage 1` did not serve:\n{log.read_text()}")
                    time.sleep(0.05)  # polling the port: the server gives no other sign
                return time.monotonic() - started
            finally:
                stop_group(make)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    times = []
    for number in range(1, args.runs + 1):
        times.append(one_run())
        print(f"run {number}: {times[-1]:.1f} s", flush=True)
    print(f"first `make stage 1`, fresh clone: median {statistics.median(times):.1f} s of {args.runs} runs "
          f"(min {min(times):.1f}, max {max(times):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
