"""Build Gradescope's autograder zip for one stage: `make gradescope 4` -> dist/gradescope-04_forms.zip.

Gradescope unzips it into /autograder/source, runs setup.sh once to build the image, then
run_autograder for each submission: the student's files are in /autograder/submission and
the verdict goes to /autograder/results/results.json (score, max_score, one test per check
with its name, status and output = the reason and the hint). The zip holds the checks
(tests/, tools/) and what installs them, not the lessons' solutions: only course.toml, each
stage's requirements.txt and the files stages fetch (stage 7's Socket.IO client) travel with it.
"""
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from stages import ROOT, STAGES, fetched, services, stage_dir, stage_number  # noqa: E402

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu base image (22.04 or 24.04), to build the autograder.
set -euo pipefail
cd "${{AUTOGRADER:-/autograder}}/source"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# bubblewrap isolates each submission; the rest are the programs checks start (course.toml's services).
apt-get install -y -qq python3 python3-venv python3-pip make bubblewrap {services} >/dev/null
make setup
# Ubuntu has no chromium package (only a snap, and no snaps here): Playwright's own Chromium,
# with the libraries it needs; `make browser` then finds it and installs nothing more.
.venv/bin/python -m playwright install --with-deps chromium
make browser
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission: /autograder/submission -> /autograder/results/results.json.
AUTOGRADER="${{AUTOGRADER:-/autograder}}"
cd "$AUTOGRADER/source"
mkdir -p "$AUTOGRADER/results"
.venv/bin/python tools/grade.py {number} --dir "$AUTOGRADER/submission" --descend \\
  --gradescope "$AUTOGRADER/results/results.json"
# 0, 1 (a check failed) and 2 (could not grade) all wrote results.json; Gradescope reads that.
exit 0
"""


def members():
    """(path in the zip, file on disk): the checks and their tools, no lesson code."""
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "tests", "tools", "pyproject.toml",
                              "requirements-dev.txt", "Makefile", "course.toml"],
                             capture_output=True, text=True, check=True).stdout.split("\n")
    files = [name for name in tracked if name]
    files += [f"{folder}/requirements.txt" for folder in STAGES.values()]
    for number, item in fetched():
        if (stage_dir(number) / item.path).is_file():
            files.append(f"{STAGES[number]}/{item.path.as_posix()}")
    return [(name, ROOT / name) for name in sorted(set(files)) if (ROOT / name).is_file()]


def build(number, out_dir=ROOT / "dist"):
    out = Path(out_dir) / f"gradescope-{STAGES[number]}.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    executable = (stat.S_IFREG | 0o755) << 16
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP.format(services=" ".join(services()))),
                           ("run_autograder", RUN.format(number=number))):
            info = zipfile.ZipInfo(name)
            info.external_attr = executable
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
        for name, path in members():
            archive.write(path, name)
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        number = stage_number(argv[0] if argv else "")
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    out = build(number, Path(argv[1]) if len(argv) > 1 else ROOT / "dist")
    print(f"Gradescope autograder for stage {number} ({STAGES[number]}): {out}")
    print("Upload it as the assignment's autograder (Configure Autograder > Zip file upload).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
