"""Run a stage as a real server on 127.0.0.1, started the way ``make stage N`` starts it."""
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from processes import stop_group
from stages import ROOT, free_port

SERVE = ROOT / "tools" / "serve.py"
START_TIMEOUT = 30  # seconds for the server to say it is listening


class ServerFailed(Exception):
    """The stage's server exited or never started listening."""


class ProgramMissing(ServerFailed):
    """A program a check starts (redis-server, nginx) is not installed."""


def find_program(candidates, why):
    """The first of candidates (names or paths) this machine has; else ProgramMissing(why)."""
    found = next((shutil.which(name) for name in candidates if shutil.which(name)), None)
    if not found:
        raise ProgramMissing(why)
    return found


class ChildServer:
    """A server in a child process: ``start()`` returns once its output says it is ready.

    Subclasses give ``command()``, ``ready`` (the text of the line that says so) and
    ``name`` (for the failure message). ``output`` is its last lines, for diagnostics.
    ``env`` adds to this process's environment (a value of None leaves that variable out);
    ``cwd`` is the folder it starts in (default: this process's).
    The server runs in its own session: ``stop()`` signals its whole process group, so a
    reloader's child (or any process the server started) ends with it.
    """

    ready = ""
    name = "The server"
    stop_grace = 5  # seconds the server has to end after stop()'s signal, before SIGKILL

    def __init__(self, env=None, cwd=None):
        self.lines = []
        self._new_line = threading.Condition()
        self._env = {name: value for name, value in {**os.environ, **(env or {})}.items() if value is not None}
        self._cwd = cwd
        self._process = None
        self._reader = None

    def command(self):
        raise NotImplementedError

    @property
    def pid(self):
        return self._process.pid

    @property
    def output(self):
        return "".join(self.lines[-40:])

    def start(self):
        self._process = subprocess.Popen(
            self.command(), env=self._env, cwd=self._cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace",
            start_new_session=True,
        )
        is_ready = queue.Queue()
        self._reader = threading.Thread(target=self._read_output, args=(is_ready,), daemon=True)
        self._reader.start()
        try:
            started = is_ready.get(timeout=START_TIMEOUT)
        except queue.Empty:
            started = False
            reason = f"did not start listening within {START_TIMEOUT} s"
        else:
            reason = "exited before it was listening"
        if not started:
            self.stop()
            raise ServerFailed(f"{self.name} {reason}. Its output:\n{self.output}")
        return self

    def _read_output(self, is_ready):
        told = False
        with self._process.stdout as stream:  # closed at the end: no ResourceWarning
            for line in stream:
                with self._new_line:
                    self.lines.append(line)
                    self._new_line.notify_all()
                if not told and self.ready in line:
                    self.on_ready(line)
                    is_ready.put(True)
                    told = True
        if not told:
            is_ready.put(False)

    def wait_for(self, text, timeout=START_TIMEOUT, after=0):
        """The first output line from index ``after`` on that contains text; None on timeout."""
        def found():
            return next((line for line in self.lines[after:] if text in line), None)

        with self._new_line:
            self._new_line.wait_for(lambda: found() or self._process.poll() is not None, timeout)
            return found()

    @property
    def exit_code(self):
        return self._process.poll()

    def interrupt(self, timeout=10):
        """Press Ctrl+C: SIGINT to the whole process group, as a terminal sends it. The exit code, or None."""
        os.killpg(self._process.pid, signal.SIGINT)
        try:
            return self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def on_ready(self, line):
        """Called with the line that says the server is ready."""

    def stop(self, how=signal.SIGTERM):
        """Stop the server and every process in its group (``how=signal.SIGINT``: as Ctrl+C)."""
        if self._process is None:
            return
        stop_group(self._process, how, grace=self.stop_grace)
        self._reader.join(timeout=5)  # it ends when the pipe does

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class LiveServer(ChildServer):
    """``tools/serve.py`` in a child process; ``url`` and ``port`` are where it listens.

    Without debug (the tests' default), as ``DEBUG=0 make stage N``; ``debug=True`` is
    ``make stage N`` itself, with Flask's reloader.
    """

    ready = "Running on http://"

    def __init__(self, stage, folder, env, port=None, debug=False):
        super().__init__({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", **env})
        self.stage, self.folder, self.debug = stage, Path(folder), debug
        self.name = f"The stage {stage} server ({self.folder})"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def command(self):
        return [sys.executable, str(SERVE), str(self.stage), "--dir", str(self.folder),
                "--port", str(self.port), *([] if self.debug else ["--no-debug"])]

    def on_ready(self, line):
        # serve.py moves to another port when the one asked for is held: believe the server.
        found = re.search(r"Running on (http://127\.0\.0\.1:(\d+))", line)
        if found:
            self.url, self.port = found.group(1), int(found.group(2))
