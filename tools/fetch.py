"""Fetch a file a stage needs but never commits, as course.toml's [[stage.fetch]] says: the file of
an npm package, saved in the stage folder. make runs it when the file is missing:

    python tools/fetch.py 07_realtime/app/static/vendor/socket.io.min.js
"""
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from stages import ROOT, STAGES, fetched


def fetch(target):
    """Fetch the file at target (a path in the repo, as `stages.py needs` prints it); 0, or 1 and why."""
    found = {f"{STAGES[n]}/{item.path.as_posix()}": (n, item) for n, item in fetched()}
    if target not in found:
        print(f"No stage fetches {target}; these are fetched: {', '.join(found) or 'none'}.", file=sys.stderr)
        return 2
    number, item = found[target]
    package, _, version = item.npm.rpartition("@")
    by_hand = f'see "Without npm" in {STAGES[number]}/README.md.'
    if shutil.which("npm") is None:
        print(f"npm is not installed, so {item.what} cannot be fetched.\n"
              f"Install Node.js (it brings npm), or get {item.path.name} of {package} {version} by hand\n"
              f"and save it as {target} ({by_hand[:-1]}).")
        return 1
    print(f"Fetching {item.what} ({package} {version}) from npm ...", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        packed = subprocess.run(["npm", "pack", "--silent", item.npm, "--pack-destination", scratch],
                                stdout=subprocess.DEVNULL)
        archives = list(Path(scratch).glob("*.tgz"))
        if packed.returncode != 0 or not archives:
            print(f"npm could not fetch {package} (offline?). Get the file by hand:\n{by_hand}")
            return 1
        with tarfile.open(archives[0]) as archive:
            content = archive.extractfile(f"package/{item.file}").read()
    path = ROOT / target
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: fetch.py PATH (a file `stages.py needs` names)")
    sys.exit(fetch(sys.argv[1]))
