"""A stage folder's own secret key: written once to its .env, so it is the same at every start.

    python tools/secret_key.py 04_forms     # writes 04_forms/.env if it needs one and has none

``make stage N`` (tools/serve.py) and ``make attendant`` call it. A folder whose .env.example
names FLASK_SECRET_KEY (stages 4-7) gets, when it has no .env yet, a .env holding a new random
key: with the reloader every save starts the app again, and a key made at each start would void
the forms (CSRF) and sessions of every open page. An existing .env is never touched; .env is
git-ignored.
"""
import os
import secrets
import sys
from pathlib import Path

SETTING = "FLASK_SECRET_KEY"


def shown(path):
    """path relative to the current folder when it is below it (as the student typed it), else whole."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def needs_key(folder):
    """Whether folder's .env.example names FLASK_SECRET_KEY."""
    example = Path(folder) / ".env.example"
    if not example.is_file():
        return False
    from dotenv import dotenv_values  # noqa: PLC0415 (a lesson package: stages 1-3 do without it)

    return SETTING in dotenv_values(example)


def write_secret_key(folder):
    """Write folder/.env with a new FLASK_SECRET_KEY when the folder needs one and has no .env; the path, or None.
    Says so on stdout."""
    env = Path(folder) / ".env"
    if env.exists() or env.is_symlink() or not needs_key(folder):
        return None
    try:
        # O_EXCL: never over a .env that appeared meanwhile; 0o600: only its owner reads the key.
        with os.fdopen(os.open(env, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as file:
            file.write("# This folder's own settings; .env.example lists them all.\n"
                       "# Never commit this file: the key signs the sessions and the forms' CSRF tokens.\n"
                       f"{SETTING}={secrets.token_urlsafe(32)}\n")
    except FileExistsError:
        return None
    print(f"wrote {shown(env)} with a new secret key (it is yours: never commit it)", flush=True)
    return env


def main(argv):
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: secret_key.py FOLDER", file=sys.stderr)
        return 2
    write_secret_key(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
