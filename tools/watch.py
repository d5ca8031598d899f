"""Stage N's checks on your copy, again at every save: how many pass, and what to fix first.

    python tools/watch.py 4                      # exercises/04_forms
    python tools/watch.py 4 --dir path/to/copy   # any copy of stage 4
    python tools/watch.py 4 --browser            # the browser checks too, after the others

``make watch 4 [DIR=path] [BROWSER=1]`` runs this. When a file of the copy changes (watchfiles
tells), it runs stage 4's checks on the copy, as ``make test 4 DIR=path`` does (pytest with
``--stage-dir``, the app served by tools/grading/app_host.py), reads the result through the
grader's record (tools/grade_plugin.py) and shows "k of n checks passed" and the first failing
check with the grader's reason and hint. A save during a run stops that run and starts anew.
Broken code is a failing check, never the watcher's end; Ctrl+C stops it.

Each run is a fork of one waiting process (tools/watch_runner.py, started once) that has loaded
pytest, the plugins and the stage's checks: a run starts without the half second a new Python
and pytest take, and every run still starts from the same clean state.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import watchfiles

from grade import with_app_loads
from grading.checks import FAIL, PASS, app_error, checks_from, expected_checks, read_record
from grading.hints import hint_for
from grading.submission import EXERCISES, layout_problem
from stages import STAGES, left_out, stage_argument, test_files
from watch_runner import Runner, pytest_args, stop_run

POLL = 0.05        # seconds between looks at a running check run (and at the watcher)
CLOSE_GRACE = 10    # seconds pytest has to end after its last check
SPLIT_ABOVE = 2.0   # seconds of checks (as the last run took them) from which a run is split over the cores
PARTS = max(1, min(os.cpu_count() or 1, 4))  # runs side by side for a split run


def split(durations, parts=PARTS):
    """The check functions in `parts` groups of about equal time, the longest first (each to the
    group with the least so far), so the slowest check does not wait for the others."""
    totals, groups = [0.0] * parts, [[] for _ in range(parts)]
    for name, seconds in sorted(durations.items(), key=lambda item: -item[1]):
        least = totals.index(min(totals))
        totals[least] += seconds
        groups[least].append(name)
    return [names for names in groups if names]


def shown(path):
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class Sources(watchfiles.DefaultFilter):
    """The files a save of the student's counts for: not what a running app writes (logs/, *.log,
    instance/), caches or local configuration (stages.NOT_COPIED), nor editors' swap files."""

    def __init__(self, folder):
        super().__init__()
        self.folder = Path(folder).resolve()

    def __call__(self, change, path):
        try:
            relative = Path(path).resolve().relative_to(self.folder)
        except ValueError:
            return False
        return super().__call__(change, path) and not left_out(relative)


class Run:
    """One run of the checks of some test files on the folder: pytest in a fork of the runner,
    recording as it goes."""

    def __init__(self, runner, number, folder, files, scratch, only=()):
        self.number, self.folder, self.files = number, Path(folder), files
        # A folder of its own: a run that is still ending never shares files with the next one.
        self.scratch = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
        self.record, self.output = self.scratch / "record.jsonl", self.scratch / "pytest.out"
        self.started = time.monotonic()
        args = [*pytest_args(number, self.folder, files),
                "--grade-record", str(self.record), "--basetemp", str(self.scratch / "tmp"),
                *[option for name in only for option in ("--grade-only", name)]]
        self.process = runner.fork(args, self.output, self.scratch / "exit-status")

    def events(self):
        return read_record(self.record)

    def done(self):
        """The checks are over: pytest recorded the end of its session (it may still be closing), or exited."""
        try:
            over = (self.process.poll() is not None or
                    '"event": "finished"' in self.record.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            over = False
        if over:
            self.ended = time.monotonic()
        return over

    def stop(self):
        stop_run(self.process)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def closed(self):
        """After its last check pytest closes on its own (it stops the app host): whether it has; stopped
        if it takes too long."""
        if self.process.poll() is None and time.monotonic() - self.ended < CLOSE_GRACE:
            return False
        self.stop()
        return True

    def checks(self):
        """The checks as the grader reads them; raises RuntimeError when pytest could not run them."""
        events = self.events()
        if not any(e["event"] == "collected" for e in events) or any(e["event"] == "collect_error" for e in events):
            self.process.wait(timeout=30)
            text = self.output.read_text(encoding="utf-8", errors="replace")
            errors = [str(e.get("details")) for e in events if e["event"] == "collect_error"]
            raise RuntimeError((errors[0] if errors else text)[-3000:])
        code = self.process.poll()
        return checks_from(expected_checks(events), events, limit_hit=False, exit_code=code), app_error(events)


class Watch:
    """The checks of a stage on a folder, started again at every change; each verdict on the screen."""

    def __init__(self, number, folder, browser, scratch, out=sys.stdout):
        self.number, self.folder, self.browser, self.scratch, self.out = number, Path(folder), browser, scratch, out
        quick = test_files(number, browser=False)
        # The checks without a browser first: their verdict comes in seconds. The browser's after.
        self.phases = [quick] + ([[f for f in test_files(number) if f not in quick]] if browser else [])
        self.runs, self.phase, self.checks, self.problem, self.started = [], 0, [], None, 0.0
        self.closing = []  # runs whose checks are over, while their pytest ends
        # From the last whole run of each phase: how long each check function took, and the checks' order.
        self.durations, self.order = {}, {}
        self.runner = None
        self.clear = out.isatty() and os.environ.get("TERM") != "dumb"

    def start(self):
        """Check the folder as it is now (a run under way is stopped first)."""
        self.stop()
        self.started, self.phase, self.checks, self.problem = time.monotonic(), 0, [], layout_problem(self.folder, self.number)
        if self.problem:  # nothing that `flask --app app run` could load: no check can run
            self.show([], self.problem)
            return
        self.say(f"Checking stage {self.number} on {shown(self.folder)} ...")
        self.run_phase(0)

    def run_phase(self, phase):
        self.phase = phase
        try:
            if self.runner is None:
                self.runner = Runner(self.number, self.folder, [f for files in self.phases for f in files], self.scratch)
            took = self.durations.get(phase, {})
            groups = split(took) if sum(took.values()) > SPLIT_ABOVE else [()]
            self.runs = [Run(self.runner, self.number, self.folder, self.phases[phase], self.scratch, only)
                         for only in groups]
        except RuntimeError as error:  # the runner is gone: say why; the next save starts a new one
            self.runner = None
            self.say_screen(["The checks could not run (a problem of the test suite or its setup, not of your code):",
                             str(error), "", self.waiting()])

    def stop(self):
        for run in self.runs:
            run.stop()
        self.runs = []

    def stop_all(self):
        self.stop()
        for run in self.closing:
            run.stop()
        self.closing = []
        if self.runner is not None:
            self.runner.close()
            self.runner = None

    def poll(self):
        """Called between looks at the folder: shows the verdict when a run is over, starts the next phase."""
        self.closing = [run for run in self.closing if not run.closed()]
        if not self.runs or not all(run.done() for run in self.runs):
            return
        runs, self.runs = self.runs, []
        checks, problem = [], None
        try:
            for run in runs:
                found, error = run.checks()
                checks, problem = checks + found, problem or error
        except RuntimeError as error:
            for run in runs:
                run.stop()
            self.say_screen(["The checks could not run (a problem of the test suite or its setup, not of your code):",
                             str(error), "", self.waiting()])
            return
        order = self.order.get(self.phase, {})
        checks.sort(key=lambda check: order.get(check.id, len(order)))
        if len(runs) == 1 and not problem:  # a whole run: its times and order plan the next ones
            self.order[self.phase] = {check.id: index for index, check in enumerate(checks)}
            took = self.durations[self.phase] = {}
            for check in checks:
                took[check.function] = took.get(check.function, 0.0) + check.duration
        self.checks += checks
        self.problem = self.problem or problem
        more = self.phase + 1 < len(self.phases) and not self.problem
        self.show(self.checks, self.problem, more)
        self.closing += runs
        if more:
            self.run_phase(self.phase + 1)

    def verdict(self, checks, problem):
        checks = with_app_loads([*checks], self.folder, self.number, problem)
        for check in checks:
            if check.status == FAIL and not check.hint:
                check.hint = hint_for(check, self.number)
        return checks

    def show(self, checks, problem, more=False):
        checks = self.verdict(checks, problem)
        passed, total = sum(c.status == PASS for c in checks), len(checks)
        seconds = time.monotonic() - self.started
        lines = [f"make watch {self.number}: stage {self.number} ({STAGES[self.number]}) on {shown(self.folder)}", ""]
        if passed == total and not problem:
            lines.append(f"  {passed} of {total} checks passed: all passed ({seconds:.1f} s).")
            if not more:
                lines.append(f"  Stage {self.number} is done here. `make grade {self.number}` gives the scorecard.")
        else:
            lines.append(f"  {passed} of {total} checks passed ({seconds:.1f} s).")
            first = next(c for c in checks if c.status != PASS)
            lines += ["", f"  First failing check: {first.description}"]
            if not first.id.startswith("grade::"):
                lines.append(f"    in:   {first.id}")
            why = first.details.splitlines() if first.id.startswith("grade::") else [first.reason]
            lines += [f"    {'why:  ' if i == 0 else '      '}{line}" for i, line in enumerate(why) if line]
            if first.hint:
                lines.append(f"    hint: {first.hint}")
            others = sum(c.status != PASS for c in checks) - 1
            if others:
                lines.append(f"  ({others} more not passing: `make grade {self.number}` lists every check)")
        if more:
            lines += ["", "  The browser checks are running ..."]
        lines += ["", self.waiting()]
        self.say_screen(lines)

    def waiting(self):
        browser = "" if self.browser else " BROWSER=1 adds the browser checks."
        return f"Save a file to check again; Ctrl+C stops.{browser}"

    def say(self, line):
        print(line, file=self.out, flush=True)

    def say_screen(self, lines):
        """A new screen: cleared on a terminal, under a rule in a log or a pipe."""
        head = "\033[2J\033[H" if self.clear else "-" * 72 + "\n"
        self.out.write(head + "\n".join(lines) + "\n")
        self.out.flush()


def watch(number, folder, browser=False):
    with tempfile.TemporaryDirectory(prefix="watch-") as scratch:
        watching = Watch(number, folder, browser, scratch)
        try:
            watching.start()
            for changes in watchfiles.watch(folder, watch_filter=Sources(folder), rust_timeout=int(POLL * 1000),
                                            yield_on_timeout=True, raise_interrupt=True):
                if changes:
                    watching.start()
                else:
                    watching.poll()
        except KeyboardInterrupt:
            watching.stop_all()
            print("\nStopped watching.", flush=True)
        finally:
            watching.stop_all()
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", type=stage_argument, help="stage number, e.g. 4")
    parser.add_argument("--dir", type=Path, help="the copy to watch (default: exercises/0N_*)")
    parser.add_argument("--browser", action="store_true", help="run the browser checks too, after the others")
    parser.add_argument("--exercises", type=Path, default=EXERCISES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    number = args.stage
    folder = (args.dir or args.exercises / STAGES[number]).expanduser().resolve()
    if not folder.is_dir():
        if args.dir:
            parser.exit(2, f"There is no folder {args.dir}.\n")
        parser.exit(2, f"There is no {shown(folder)} yet: `make exercise {number}` starts it "
                       f"(or give another copy: make watch {number} DIR=path).\n")
    return watch(number, folder, args.browser)


if __name__ == "__main__":
    sys.exit(main())
