"""Serve one stage with Flask's development server on 127.0.0.1.

    python tools/serve.py 3                 # the repo's stage 3
    python tools/serve.py 3 --dir ../mine   # a copy of stage 3 somewhere else
    PORT=8000 python tools/serve.py 3

``make stage N`` runs this, and so do the browser tests, so a stage is always
started the same way: ``flask --app app run`` inside the stage folder.
"""
import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from stages import stage_dir, stage_number

DEFAULT_PORT = 5000


def port_is_free(port):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def any_free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def choose_port(wanted):
    if port_is_free(wanted):
        return wanted
    port = any_free_port()
    print(
        f"Port {wanted} is already in use (on macOS the AirPlay Receiver holds 5000);"
        f" using port {port} instead.",
        flush=True,
    )
    return port


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", help="stage number, e.g. 3 or 03")
    parser.add_argument("--dir", type=Path, help="serve this folder instead of the repo's stage")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    args = parser.parse_args(argv)
    try:
        number = stage_number(args.stage)
    except ValueError as error:
        parser.exit(2, f"{error}\n")
    folder = (args.dir or stage_dir(number)).resolve()
    if not (folder / "app.py").is_file() and not (folder / "app" / "__init__.py").is_file():
        parser.exit(2, f"{folder} has no app.py or app/ package to serve.\n")

    port = choose_port(args.port)
    print(f"Stage {number} ({folder.name}): open http://127.0.0.1:{port}/  (Ctrl+C stops it)", flush=True)
    command = [sys.executable, "-m", "flask", "--app", "app", "run",
               "--host", "127.0.0.1", "--port", str(port)]
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
