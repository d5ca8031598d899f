"""Serve one stage with Flask's development server on 127.0.0.1.

    python tools/serve.py 3                 # the repo's stage 3, reloading on every edit
    python tools/serve.py 3 --dir ../mine   # a copy of stage 3 somewhere else
    python tools/serve.py 3 --no-debug      # no reloader, no debugger (DEBUG=0 make stage 3)
    PORT=8000 python tools/serve.py 3

``make stage N`` runs this (tests/harness/test_tooling.py starts it as that does): a stage
is started as ``flask --app app run`` inside the stage folder.

A stage whose .env.example names FLASK_SECRET_KEY (stages 4-7) first gets its .env with a
secret key, when it has none (tools/secret_key.py): the same key at every reload.
"""
import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from secret_key import write_secret_key
from stages import free_port, has_app, stage_argument, stage_dir

DEFAULT_PORT = 5000


def port_is_free(port, host="127.0.0.1"):
    """Whether Flask's server could bind port now.

    Bound as Werkzeug binds it: with SO_REUSEADDR on POSIX, so the connections a stopped
    server leaves in TIME_WAIT (a browser tab was open) do not count; only a program that
    holds the port does.
    """
    with socket.socket() as probe:
        if os.name == "posix":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def choose_port(wanted):
    if port_is_free(wanted):
        return wanted
    port = free_port()
    print(
        f"Port {wanted} is held by another program (on macOS the AirPlay Receiver holds 5000);"
        f" using port {port} instead.",
        flush=True,
    )
    return port


def debug_wanted(value):
    """DEBUG=0 (or no, false, off) turns the reloader off; anything else, or unset, keeps it."""
    return (value or "1").strip().lower() not in ("0", "no", "false", "off")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", type=stage_argument, help="stage number, e.g. 3 or 03")
    parser.add_argument("--dir", type=Path, help="serve this folder instead of the repo's stage")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument("--no-debug", dest="debug", action="store_false",
                        default=debug_wanted(os.environ.get("DEBUG")),
                        help="no reloader and no debugger (as DEBUG=0)")
    args = parser.parse_args(argv)
    number = args.stage
    folder = (args.dir or stage_dir(number)).resolve()
    if not has_app(folder):
        parser.exit(2, f"{folder} has no app.py or app/ package to serve.\n")

    write_secret_key(folder)
    port = choose_port(args.port)
    print(f"Stage {number} ({folder.name}): open http://127.0.0.1:{port}/  (Ctrl+C stops it)", flush=True)
    if args.debug:
        print("Debug mode: the server restarts when you save a file (DEBUG=0 turns that off).", flush=True)
    # With --debug, Flask's reloader binds the port once and hands it to the server it restarts.
    command = [sys.executable, "-m", "flask", "--app", "app", "--debug" if args.debug else "--no-debug",
               "run", "--host", "127.0.0.1", "--port", str(port)]
    os.chdir(folder)
    # The stage reads the .env in its own folder; flask's CLI would also search the folders above
    # (a stray FLASK_DEBUG=1 there would serve the debugger).
    os.environ["FLASK_SKIP_DOTENV"] = "1"
    if os.name == "posix":
        os.execv(sys.executable, command)  # the server takes this process's place
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
