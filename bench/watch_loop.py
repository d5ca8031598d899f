"""How long `make watch N` takes from a save to the verdict on the screen, stage by stage.

    .venv/bin/python bench/watch_loop.py                   # stages 1-6, 7 saves each
    .venv/bin/python bench/watch_loop.py --stages 3 5 --saves 10

For each stage: a copy of the repo's stage in a temporary folder, `tools/watch.py N --dir copy`
on it (the browser checks left out, as `make watch` does by default), its first verdict awaited;
then, SAVES times, the stage's entry file (app.py or app/__init__.py) is saved with one more
comment line and the time runs until the watcher prints the next "k of n checks passed". Prints
each stage's median, min and max, and the machine's load average before and after: other work
on the same cores shows in every figure.
"""
import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from processes import stop_group  # noqa: E402
from stages import STAGES, entry_file, not_copied, stage_dir  # noqa: E402

VERDICT = "checks passed"
LIMIT = 120  # seconds for one verdict before the run counts as broken
TARGET = 3.0  # seconds from a save to the verdict, stages 1-6


class Watcher:
    def __init__(self, number, folder):
        self.process = subprocess.Popen([sys.executable, str(ROOT / "tools" / "watch.py"), str(number), "--dir", str(folder)],
                                        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def verdict(self):
        """The next verdict line; the time it arrived."""
        deadline = time.monotonic() + LIMIT
        while True:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            if line is None:
                raise SystemExit("The watcher ended:\n" + "".join(self.seen[-40:]))
            self.seen.append(line)
            if VERDICT in line:
                return time.monotonic(), line.strip()

    def stop(self):
        stop_group(self.process)


def bench_stage(number, saves, scratch):
    folder = Path(scratch) / STAGES[number]
    shutil.copytree(stage_dir(number), folder, ignore=not_copied())
    entry = folder / entry_file(number)
    watcher = Watcher(number, folder)
    times = []
    try:
        watcher.verdict()  # the run at start
        for save in range(saves):
            with open(entry, "a", encoding="utf-8") as file:
                saved = time.monotonic()
                file.write(f"# save {save}\n")
            arrived, line = watcher.verdict()
            times.append(arrived - saved)
    finally:
        watcher.stop()
    return times, line


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, nargs="*", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--saves", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as scratch:
        for number in args.stages:
            times, line = bench_stage(number, args.saves, scratch)
            median = statistics.median(times)
            print(f"stage {number}: save to verdict median {median:.2f} s (min {min(times):.2f}, max {max(times):.2f}, "
                  f"{len(times)} saves){'' if median <= TARGET else f'  over {TARGET:g} s'}   [{line}]", flush=True)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
