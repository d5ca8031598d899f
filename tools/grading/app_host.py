"""Serve a student's app, never in the process that checks it: the grader's app host.

The checks never import the stage's code (`make test`'s or the grader's). They start this
program once per pytest process (in its own sandbox where bubblewrap runs) and ask it, one JSON line on stdin per request, for servers:

    {"op": "start", "id": "7", "folder": ..., "cwd": ..., "env": {...}, "config": {...} or null,
     "prefix": "", "clock": null, "port": 0 (any free one), "output": "path of the server's output file"}
    {"op": "stop", "id": "7"}
    {"op": "limit", "id": "7", "file_size": 65536}   (RLIMIT_FSIZE of that server: a full disk)

For each start it forks: the child becomes the server (imports and builds the app, binds a
free port on 127.0.0.1, and serves it with threads, as `flask run` does), and answers on
stdout with one JSON line, {"id", "port"} or {"id", "error"}; a child that dies (os._exit,
a crash) is reported as {"id", "exited": status}. Everything the app prints or
logs goes to the output file, which the checks read. Forking from a process that has already
imported Flask and its friends makes a fresh server for every check cheap (a fork, not a new
interpreter importing Flask again), so no check sees another's state.

What the children do cannot change a verdict: the verdict is the checks' process's, and they
only ever see this program's answers and the server's behaviour.

Nothing a server's app can see says it is being checked: before loading the app the child makes
itself what `flask --app app run` started in the stage's folder would be (look_like_flask_run):
its command line and __main__ are flask's script's, its import path and modules hold nothing
of this program's, its environment is the request's alone, and the app is built as flask builds
it, with ``create_app()`` and no config. Only a check of the factory itself sends a "config",
which the app then gets as create_app(test_config); TESTING, which no student sets, is left out:
Flask's only use of it, re-raising a view's error, is what no check wants.
"""
import builtins
import json
import os
import re
import resource
import selectors
import signal
import sys
import time
import types
from importlib.machinery import SourceFileLoader
from pathlib import Path

HOST_PATHS = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
sys.path.insert(0, HOST_PATHS[1])  # tools/: the loader

import flask  # noqa: E402,F401  imported once here, so that each fork starts warm
import flask.cli  # noqa: E402  what `flask run` has imported when it loads the app
import jinja2  # noqa: E402,F401
from werkzeug.middleware.dispatcher import DispatcherMiddleware  # noqa: E402
from werkzeug.exceptions import NotFound  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from loader import StageLoadError, load_app  # noqa: E402

# (time_machine is imported by the servers that travel in time alone: `flask run` has none.)
for optional in ("flask_wtf", "wtforms", "flask_socketio", "socketio", "engineio", "simple_websocket", "dotenv"):
    try:
        __import__(optional)
    except ImportError:  # a stage that does not need it; the app's own import says so if it does
        pass

FLASK_SCRIPT = str(Path(sys.executable).with_name("flask"))  # the virtualenv's `flask` command
MAX_ANSWER = 3000  # characters of an error sent back (one line, well under the pipe's atomic size)


def answer(channel, **fields):
    line = json.dumps(fields, ensure_ascii=False)
    if len(line) > MAX_ANSWER:
        fields["error"] = str(fields.get("error", ""))[:MAX_ANSWER - 200] + " ..."
        line = json.dumps(fields, ensure_ascii=False)
    os.write(channel, (line + "\n").encode("utf-8"))


def test_config(request):
    """The settings a check gives create_app() (the factory's own lesson), or None: most checks give
    none, as `flask run` does. TESTING, which no student sets, is always left out."""
    config = {key: value for key, value in (request.get("config") or {}).items() if key != "TESTING"}
    return config or None


def look_like_flask_run(request):
    """Make this process what `flask --app app run` in the request's folder would be, as far as
    the app can see: environment, working folder, argv, __main__, import path, modules."""
    env = dict(request["env"])
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    os.chdir(request["cwd"])
    sys.argv = [FLASK_SCRIPT, "--app", "app", "run"]
    sys.orig_argv = [sys.executable, *sys.argv]
    main = types.ModuleType("__main__")  # the console script's module, as flask's own script has it
    main.__dict__.update(__file__=FLASK_SCRIPT, __loader__=SourceFileLoader("__main__", FLASK_SCRIPT),
                         __builtins__=builtins, __cached__=None, re=re, sys=sys, main=flask.cli.main)
    sys.modules["__main__"] = main
    for name in ("loader", "stages"):
        sys.modules.pop(name, None)
    sys.path[:] = [str(Path(FLASK_SCRIPT).parent), *(p for p in sys.path if p not in HOST_PATHS)]


def serve(request, channel):
    """In the forked child: build the app, bind a port, say which, serve until stopped."""
    output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)
    look_like_flask_run(request)
    if request.get("clock"):
        import time_machine  # noqa: PLC0415  only in a server whose clock travels

        time_machine.travel(request["clock"], tick=True).start()
    try:
        app, _module = load_app(request["folder"], test_config(request), as_flask_run=True)
    except StageLoadError as error:
        answer(channel, id=request["id"], error=f"The app could not be loaded: {error}")
        os._exit(0)
    wsgi = app
    if request.get("prefix"):
        wsgi = DispatcherMiddleware(NotFound(), {request["prefix"]: app})
    try:
        server = make_server("127.0.0.1", int(request.get("port") or 0), wsgi, threaded=True)
    except Exception as error:  # noqa: BLE001  whatever the app did to the process
        answer(channel, id=request["id"], error=f"The server could not start: {type(error).__name__}: {error}")
        os._exit(0)
    answer(channel, id=request["id"], port=server.server_port)
    os.close(channel)
    print(f" * Serving {request['folder']} on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
    os._exit(0)


def start(request, channel, children, wakeup):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in wakeup:
                os.close(fd)
            os.setsid()  # the group `stop` signals: the server and whatever it starts
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)  # the requests are the host's, not the app's
            serve(request, channel)
        except SystemExit as exit_:  # the app called exit() while loading
            answer(channel, id=request["id"],
                   error=f"The app ended the Python process while it was being loaded (exit({exit_.code!r}))")
        except BaseException as error:  # noqa: BLE001  never a traceback in the host's channel
            answer(channel, id=request["id"], error=f"The server failed: {type(error).__name__}: {error}")
            code = 1
        finally:
            os._exit(code)
    children[pid] = request["id"]


def stop(request, children):
    pid = next((pid for pid, ident in children.items() if ident == request["id"]), None)
    if pid is None:
        return
    children.pop(pid)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def limit(request, children):
    """A full disk for one server: writes past file_size bytes fail (RLIMIT_FSIZE, soft limit)."""
    pid = next((pid for pid, ident in children.items() if ident == request["id"]), None)
    if pid is None:
        return False
    try:
        _soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (int(request["file_size"]), hard))
    except (OSError, ValueError):
        return False
    return True


def reap(channel, children):
    """Say which servers died on their own (not stopped): their exit status."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ident = children.pop(pid, None)
        if ident is not None:
            answer(channel, id=ident, exited=os.waitstatus_to_exitcode(status))


def handle(line, channel, children, wakeup):
    try:
        request = json.loads(line)
    except ValueError:
        return
    if request.get("op") == "start":
        start(request, channel, children, wakeup)
    elif request.get("op") == "stop":
        stop(request, children)
        answer(channel, id=request["id"], stopped=True)
    elif request.get("op") == "limit":
        answer(channel, id=request["id"], limited=limit(request, children))


def main():
    channel = os.dup(1)  # the answers; the children's own stdout goes to their output files
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    # A child's death wakes the loop (SIGCHLD through a pipe), as a request on stdin does.
    wakeup = os.pipe()
    os.set_blocking(wakeup[1], False)
    signal.set_wakeup_fd(wakeup[1])
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wakeup[0], selectors.EVENT_READ)
    children, pending, done = {}, b"", False
    while not done:
        for key, _ in selector.select():
            if key.fd == wakeup[0]:
                os.read(wakeup[0], 4096)
                reap(channel, children)
                continue
            data = os.read(0, 65536)
            done = not data
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                handle(line, channel, children, wakeup)
    for pid in children:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


if __name__ == "__main__":
    main()
