"""The stage facts: course.toml's records, and what follows from them. The Makefile, every tool
and the test suite ask this module.

    python tools/stages.py list          # the stage table
    python tools/stages.py folder 3      # 03_params
    python tools/stages.py tests 3       # stage 3's test files (the Makefile's `make test 3`)
    python tools/stages.py needs 7       # what make prepares for stage 7 (every stage's without N)
    python tools/stages.py services 7    # the programs stage 7's checks start (every stage's without N)
    python tools/stages.py command attendant   # the folder `make attendant` runs in
"""
import argparse
import ast
import fnmatch
import json
import re
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    try:
        import tomli as tomllib
    except ModuleNotFoundError:  # before `make setup` installs tomli: the Makefile asks with the system's python3
        tomllib = None

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
COURSE_FILE = ROOT / "course.toml"


@dataclass(frozen=True)
class Fetch:
    """A file a stage fetches when first needed (never committed): from `npm` package's `file`."""
    path: Path  # in the stage folder
    what: str
    npm: str
    file: str


@dataclass(frozen=True)
class Stage:
    """One [[stage]] record of course.toml (its header says what each field means)."""
    number: int
    folder: str
    layout: str
    grading_seconds: float
    diff_budget: Optional[int] = None
    services: tuple = ()
    commands: tuple = ()
    fetch: tuple = ()


def read_simple_toml(text):
    """course.toml as tomllib reads it, for a Python 3.10 that has no TOML library yet. It reads
    only the forms course.toml keeps to: [[stage]] and [[stage.fetch]] headers, comment lines, and
    `key = value` lines whose value is a string, a number or a list of strings."""
    stages = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line in ("[[stage]]", "[[stage.fetch]]"):
            if line == "[[stage]]":
                stages.append({})
            else:
                stages[-1].setdefault("fetch", []).append({})
            continue
        key, equals, value = line.partition("=")
        if not equals or not stages:
            raise ValueError(f"course.toml, line {number}: expected `key = value`: {line!r}")
        record = stages[-1]["fetch"][-1] if "fetch" in stages[-1] else stages[-1]
        record[key.strip()] = ast.literal_eval(value.strip())
    return {"stage": stages}


def read_course(path=COURSE_FILE):
    """{number: Stage} from course.toml."""
    text = Path(path).read_text(encoding="utf-8")
    data = tomllib.loads(text) if tomllib else read_simple_toml(text)
    course = {}
    for record in data["stage"]:
        fetch = tuple(Fetch(path=Path(f["path"]), what=f["what"], npm=f["npm"], file=f["file"])
                      for f in record.get("fetch", ()))
        stage = Stage(**{**record, "fetch": fetch, "services": tuple(record.get("services", ())),
                         "commands": tuple(record.get("commands", ()))})
        course[stage.number] = stage
    return course


COURSE = read_course()
STAGES = {number: stage.folder for number, stage in COURSE.items()}

MODULE_ENTRY = Path("app.py")
PACKAGE_ENTRY = Path("app", "__init__.py")

# Never copied from a stage or a student's folder: local configuration, what a running app
# writes, caches and environments. (shutil/fnmatch patterns matched against each path part.)
NOT_COPIED = (".git", ".venv", "venv", "env", "node_modules", "__pycache__", "*.pyc",
              ".pytest_cache", ".ruff_cache", ".mypy_cache", ".DS_Store",
              ".env", "instance", "logs", "*.log")
# Not part of the lesson's code either: its notes (every Markdown file), and fetched libraries.
NOT_IN_DIFF = NOT_COPIED + ("*.md", "vendor")


# A chat stage writes each message as one log line: <ISO time to the second> <role> <text as JSON>.
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
    """True for the stages whose app is an app/ package, False for those in app.py."""
    return COURSE[number].layout == "package"


def entry_file(number):
    """The file a stage's app starts in: app.py or app/__init__.py."""
    return PACKAGE_ENTRY if is_package_stage(number) else MODULE_ENTRY


def layout_name(number):
    """Stage N's layout in words, for messages."""
    if is_package_stage(number):
        return "an app/ package (app/__init__.py with create_app())"
    return "app.py"


def in_words(numbers):
    """"stage 7", "stages 1-4" or "stages 2, 5": the stages numbered, for messages."""
    numbers = sorted(numbers)
    if len(numbers) == 1:
        return f"stage {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"stages {numbers[0]}-{numbers[-1]}"
    return "stages " + ", ".join(map(str, numbers))


def layout_stages(package):
    """The stages laid out as an app/ package (package=True) or as app.py, in words."""
    return in_words([n for n in COURSE if is_package_stage(n) == package])


def fetched(number=None):
    """[(stage number, Fetch)] of stage N, or of every stage."""
    return [(n, item) for n, stage in COURSE.items() if number in (None, n) for item in stage.fetch]


def services(number=None):
    """The programs the checks of stage N (or of any stage) start, each once."""
    return list(dict.fromkeys(name for n, stage in COURSE.items() if number in (None, n) for name in stage.services))


def needs(number=None):
    """What make prepares before stage N's commands (every stage's without N): the files it fetches,
    by their paths in the repo, and `services` when its checks start programs."""
    files = [f"{STAGES[n]}/{item.path.as_posix()}" for n, item in fetched(number)]
    return files + (["services"] if services(number) else [])


def command_folder(name):
    """The folder of the newest stage whose app has the `flask NAME` command (`make NAME` runs it)."""
    having = [n for n, stage in COURSE.items() if name in stage.commands]
    if not having:
        raise ValueError(f"No stage's app has a `flask {name}` command.")
    return STAGES[max(having)]


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


def check_names(number, browser=True):
    """The names of stage N's checks (test functions), read from test_files(N) without importing them:
    every check of its own modules, and each shared check marked with N (``@pytest.mark.stages(..., N)``)."""
    names = []
    for path in test_files(number, browser):
        own = path.name.startswith(f"test_{number:02d}_")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and (own or any(
                    isinstance(mark, ast.Call) and ast.unparse(mark.func).endswith("mark.stages")
                    and number in [ast.literal_eval(arg) for arg in mark.args] for mark in node.decorator_list)):
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
    """``list`` prints the table; ``folder N`` stage N's folder; ``tests N`` its test files; ``needs [N]``
    and ``services [N]`` what make prepares and which programs the checks start; ``command NAME`` the
    folder `make NAME` runs in."""
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    try:
        if command == "list" and not args:
            print(listing())
        elif command in ("folder", "tests") and len(args) == 1:
            number = stage_number(args[0])
            print(STAGES[number] if command == "folder" else
                  " ".join(str(path.relative_to(ROOT)) for path in test_files(number)))
        elif command in ("needs", "services") and len(args) <= 1:
            number = stage_number(args[0]) if args else None
            print(" ".join(needs(number) if command == "needs" else services(number)))
        elif command == "command" and len(args) == 1:
            print(command_folder(args[0]))
        else:
            print("usage: stages.py list | folder N | tests N | needs [N] | services [N] | command NAME", file=sys.stderr)
            return 2
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
