"""The stage facts, stated once: the seven folders, each stage's layout and test files,
and what is never copied. The Makefile, every tool and the test suite ask this module.

    python tools/stages.py list          # the stage table
    python tools/stages.py folder 3      # 03_params
    python tools/stages.py tests 3       # stage 3's test files (the Makefile's `make test 3`)
"""
import argparse
import ast
import fnmatch
import json
import re
import shutil
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

STAGES = {
    1: "01_hello",
    2: "02_templates",
    3: "03_params",
    4: "04_forms",
    5: "05_file_log_chat",
    6: "06_sync_log",
    7: "07_realtime",
}

# Stages 1-4 keep their code in app.py; from stage 5 on, an app/ package with create_app().
FIRST_PACKAGE_STAGE = 5
MODULE_ENTRY = Path("app.py")
PACKAGE_ENTRY = Path("app", "__init__.py")

# Stage 7's Socket.IO browser client: fetched from npm, never committed, never part of a diff.
SOCKETIO_CLIENT = Path("app", "static", "vendor", "socket.io.min.js")

# Never copied from a stage or a student's folder: local configuration, what a running app
# writes, caches and environments. (shutil/fnmatch patterns matched against each path part.)
NOT_COPIED = (".git", ".venv", "venv", "env", "node_modules", "__pycache__", "*.pyc",
              ".pytest_cache", ".ruff_cache", ".mypy_cache", ".DS_Store",
              ".env", "instance", "logs", "*.log")
# Not part of the lesson's code either: its notes (every Markdown file), and fetched libraries.
NOT_IN_DIFF = NOT_COPIED + ("*.md", "vendor")


# Stages 5-7 write a chat message as one log line: <ISO time to the second> <role> <text as JSON>.
LOG_LINE = re.compile(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d) (user|attendant) (".*")')


def parse_log_line(line):
    """(time, role, text) of one chat log line (its newline left off); ValueError if it is not one."""
    found = LOG_LINE.fullmatch(line)
    if not found:
        raise ValueError(f"not a chat log line ('<time> <role> <JSON text>'): {line!r}")
    return found.group(1), found.group(2), json.loads(found.group(3))


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


def stage_argument(text):
    """For argparse: ``add_argument("stage", type=stage_argument)`` exits 2 with the stage table."""
    try:
        return stage_number(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def stage_dir(number):
    return ROOT / STAGES[number]


def is_package_stage(number):
    """True for the stages whose app is an app/ package (5-7), False for app.py (1-4)."""
    return number >= FIRST_PACKAGE_STAGE


def entry_file(number):
    """The file a stage's app starts in: app.py (1-4) or app/__init__.py (5-7)."""
    return PACKAGE_ENTRY if is_package_stage(number) else MODULE_ENTRY


def layout_name(number):
    """Stage N's layout in words, for messages."""
    if is_package_stage(number):
        return "an app/ package (app/__init__.py with create_app())"
    return "app.py"


def has_app(folder):
    """Whether folder holds a Flask app in either layout."""
    folder = Path(folder)
    return (folder / MODULE_ENTRY).is_file() or (folder / PACKAGE_ENTRY).is_file()


def test_files(number, browser=True):
    """Stage N's test files: its own (test_0N_*.py) and the shared ones (a name without a stage
    number: each check there is marked with its stages), in tests/ and, for the browser checks,
    tests/browser/. Run them with ``--stage N``, which keeps stage N's checks alone. (tests/harness/
    holds the tools' own tests.)"""
    folders = [TESTS, TESTS / "browser"] if browser else [TESTS]
    return [path for folder in folders for path in sorted(folder.glob("test_*.py"))
            if path.name.startswith(f"test_{number:02d}_") or not path.name[len("test_")].isdigit()]


def check_functions(path, number):
    """The check functions of test file path that run for stage N: all of a stage's own file, and
    in a shared file those whose @pytest.mark.stages(...) names N."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        marks = [d for d in node.decorator_list if isinstance(d, ast.Call) and ast.unparse(d.func).endswith("mark.stages")]
        if not marks or number in [ast.literal_eval(arg) for arg in marks[0].args]:
            names.append(node.name)
    return names


def not_copied(*extra):
    """An ``ignore=`` for shutil.copytree that leaves out NOT_COPIED (and extra patterns)."""
    return shutil.ignore_patterns(*NOT_COPIED, *extra)


def left_out(relative, patterns=NOT_COPIED):
    """Whether a path (relative to its stage folder) matches one of patterns in any part."""
    return any(fnmatch.fnmatch(part, pattern) for part in Path(relative).parts for pattern in patterns)


def free_port(host="127.0.0.1"):
    """A port nothing listens on now (the system picks it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def main(argv):
    """``folder N`` prints stage N's folder; ``tests N`` its test files; ``list`` the table."""
    if argv[:1] == ["list"]:
        print(listing())
        return 0
    if len(argv) == 2 and argv[0] in ("folder", "tests"):
        try:
            number = stage_number(argv[1])
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        if argv[0] == "folder":
            print(STAGES[number])
        else:
            print(" ".join(str(path.relative_to(ROOT)) for path in test_files(number)))
        return 0
    print("usage: stages.py list | folder N | tests N", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
