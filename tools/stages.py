"""The seven stages: their folders, and how to find one from what a person types.

Used by the Makefile (``python tools/stages.py folder 3``) and by the test suite.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STAGES = {
    1: "01_hello",
    2: "02_templates",
    3: "03_params",
    4: "04_forms",
    5: "05_file_log_chat",
    6: "06_sync_log",
    7: "07_realtime",
}


def listing():
    """The stage table as text, one stage a line."""
    return "\n".join(f"  {n}  {folder}" for n, folder in STAGES.items())


def stage_number(text):
    """Read ``3``, ``03`` or ``03_params`` as stage 3; anything else is a ValueError."""
    text = str(text).strip().rstrip("/")
    if not text:
        raise ValueError(f"Which stage? Give its number, e.g. 3. The stages are:\n{listing()}")
    head = text.split("_", 1)[0]
    if head.isdigit() and int(head) in STAGES:
        if "_" not in text or text == STAGES[int(head)]:
            return int(head)
    raise ValueError(f"There is no stage {text!r}. The stages are:\n{listing()}")


def stage_dir(number):
    return ROOT / STAGES[number]


def main(argv):
    """``folder N`` prints stage N's folder; ``list`` prints the table."""
    if argv[:1] == ["list"]:
        print(listing())
        return 0
    if len(argv) == 2 and argv[0] == "folder":
        try:
            print(STAGES[stage_number(argv[1])])
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        return 0
    print("usage: stages.py list | folder N", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


# --- stage facts the grader asks (issue 9; helper C's stage-facts module may absorb these) ---

TESTS = ROOT / "tests"
PACKAGE_FROM = 5  # stages 1-4 are one app.py; stages 5-7 an app/ package with create_app()
# Never copied from a student's folder into the graded copy: environments, caches, VCS.
NOT_COPIED = (".git", ".venv", "venv", "env", "node_modules", "__pycache__", "*.pyc",
              ".pytest_cache", ".mypy_cache", ".DS_Store")
# Stage 7's Socket.IO browser client: fetched at setup, so a student's folder may lack it.
VENDOR_FILE = {7: Path("app", "static", "vendor", "socket.io.min.js")}


def uses_package(number):
    """True when stage N is an app/ package (5-7), False when it is one app.py (1-4)."""
    return number >= PACKAGE_FROM


def expected_layout(number):
    return ("an app/ package (app/__init__.py with create_app())" if uses_package(number)
            else "app.py")


def test_files(number, browser=True):
    """Stage N's test files: tests/test_0N_*.py, and tests/*/test_0N_*.py (the browser ones)."""
    prefix = f"test_{number:02d}_"
    files = sorted(TESTS.glob(f"{prefix}*.py"))
    return files + (sorted(TESTS.glob(f"*/{prefix}*.py")) if browser else [])
