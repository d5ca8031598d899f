"""The runs of tools/watch.py: pytest forked from one waiting process that has loaded the checks.

The runner (``python tools/watch_runner.py N --dir FOLDER --file F ...``) runs pytest's collection
of stage N's checks once, so pytest, its plugins, the checks and what they import are loaded, then
forks one child per line it reads, each running pytest on the checks with the line's arguments.
A new Python and pytest take about half a second before the first check; a fork, milliseconds.
Each run starts from the same clean state (the runner's, after collection), as a new process would.

This module imports pytest only in the runner: the watcher imports watchfiles (and anyio with it),
which pytest must import itself, after marking its plugins for assertion rewriting.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from grading.checks import child_env
from processes import close_input_and_wait, stop_group
from stages import ROOT, stage_argument

CHECK_TIMEOUT = 30  # seconds one check may take here: a hang shows up soon, the grader's own is 90


def pytest_args(number, folder, files):
    """What every run passes pytest: the stage's checks on folder, as `make test N DIR=folder` runs them."""
    return [*map(str, files), "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
            "--stage", str(number), "--stage-dir", f"{number}={folder}", "-p", "grade_plugin", "-q", "--no-header",
            "-p", "no:cacheprovider", "--timeout", str(CHECK_TIMEOUT)]


class Runner:
    """The watcher's handle on the runner process. The runner has its own session: the terminal's
    Ctrl+C reaches the watcher, which stops it."""

    def __init__(self, number, folder, files, scratch):
        self.errors = Path(scratch) / "runner.err"
        with open(self.errors, "w", encoding="utf-8") as errors:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), str(number), "--dir", str(folder),
                 *[f"--file={f}" for f in files]],
                cwd=ROOT, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                text=True, start_new_session=True)

    def fork(self, args, output, exit_file):
        """Start one run; its ForkedRun. RuntimeError when the runner is gone."""
        try:
            self.process.stdin.write(json.dumps({"args": args, "output": str(output), "exit": str(exit_file)}) + "\n")
            self.process.stdin.flush()
            answer = self.process.stdout.readline()
        except OSError:
            answer = ""
        if not answer:
            self.close()
            raise RuntimeError("The runner of the checks ended:\n" +
                               self.errors.read_text(encoding="utf-8", errors="replace")[-3000:])
        return ForkedRun(json.loads(answer)["pid"], exit_file)

    def close(self):
        """The runner ends when its input does, after stopping the runs still going; stopped if it takes too long."""
        close_input_and_wait(self.process, timeout=15)
        stop_group(self.process, grace=5)


def stop_run(run):
    """Stop a run as Ctrl+C would: pytest ends the check under way, then closes the app host and
    its servers before it exits; what is left after a grace period is killed."""
    stop_group(run, signal.SIGINT)


class ForkedRun:
    """A run the runner forked, with the calls of subprocess.Popen that processes.stop_group uses.
    The runner reaps it; it leaves its exit status in a file on its way out."""

    def __init__(self, pid, exit_file):
        self.pid, self.exit_file = pid, Path(exit_file)

    def poll(self):
        try:
            os.kill(self.pid, 0)
            return None
        except ProcessLookupError:
            try:
                return int(self.exit_file.read_text())
            except (OSError, ValueError):
                return -signal.SIGKILL  # it did not get to say: a signal ended it

    def wait(self, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("pytest", timeout)
            time.sleep(0.02)  # not our child: nothing to wait on but its end
        return self.poll()


def serve(number, folder, files):
    """The runner: collect the checks once, then fork a run for each line on stdin. It has no thread
    of its own when it forks."""
    import pytest  # noqa: PLC0415 (only the runner loads it; see the module's note)

    answers = os.fdopen(os.dup(1), "w")
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # pytest's own output (here: the collection) is not the watcher's
    with tempfile.TemporaryDirectory(prefix="watch-runner-") as scratch:
        pytest.main([*pytest_args(number, folder, files), "--collect-only", "--basetemp", str(Path(scratch) / "tmp")])
    for thread in threading.enumerate():  # e.g. the app host's reader, ending with it
        if thread is not threading.main_thread():
            thread.join(timeout=10)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the runs are reaped as they end
    runs = []
    for line in sys.stdin:
        request = json.loads(line)
        runs = [run for run in runs if run.poll() is None]
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                os.setpgid(0, 0)  # a group of its own: the watcher stops a run and all it started
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # pytest waits for its own children
                output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(output, 1)
                os.dup2(output, 2)
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                code = int(pytest.main(request["args"]))
                sys.stdout.flush()
                sys.stderr.flush()
                Path(request["exit"]).write_text(str(code))
            finally:
                os._exit(code)
        try:
            os.setpgid(pid, pid)  # here too, so the group exists before the watcher hears of the run
        except OSError:
            pass  # the child got there first
        runs.append(ForkedRun(pid, request["exit"]))
        answers.write(json.dumps({"pid": pid}) + "\n")
        answers.flush()
    for run in runs:  # the watcher is gone (Ctrl+C): so are its runs, whether it knew of them or not
        stop_run(run)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", type=stage_argument)
    parser.add_argument("--dir", type=Path, required=True, help="the folder the checks run on")
    parser.add_argument("--file", action="append", default=[], help="a test file of the stage (repeatable)")
    args = parser.parse_args(argv)
    return serve(args.stage, args.dir, args.file)


if __name__ == "__main__":
    sys.exit(main())
