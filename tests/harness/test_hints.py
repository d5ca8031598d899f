"""Every check of the course has its hint, in one place: its docstring, shown under its failure.

The checks are read as the grader reads them: collected by pytest, recorded by tools/grade_plugin.py.
"""
import ast
import os
import re
import subprocess
import sys

from grading.checks import APP_LOADS, read_record
from mutate import load
from stages import ROOT, STAGES

COURSE = ["tests", "--ignore", str(ROOT / "tests" / "harness")]


def collected(tmp_path, *args, cwd=ROOT):
    """The checks pytest collects with args, as the grader's record has them (id, name, function, doc)."""
    record = tmp_path / "record.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tools"), os.environ.get("PYTHONPATH")]))}
    ran = subprocess.run([sys.executable, "-m", "pytest", *args, "--collect-only", "-q", "-p", "no:cacheprovider",
                          "-p", "grade_plugin", "--grade-record", str(record)],
                         capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    checks = [event for event in read_record(record) if event["event"] == "collected"]
    assert ran.returncode == 0 and checks, f"Collecting {args} failed:\n{ran.stdout[-3000:]}{ran.stderr[-3000:]}"
    return checks


def without_a_hint(checks):
    """The checks whose docstring gives no hint: empty, or an old "Hint:" paragraph after a description."""
    return sorted({check["id"].split("[")[0] for check in checks
                   if not check["doc"].strip() or "hint:" in check["doc"].lower()})


def stage_of(check):
    numbered = re.search(r"[-\[]stage(\d+)[-\]]", check["name"]) or re.search(r"test_0(\d)_", check["file"])
    return int(numbered[1]) if numbered else None


def test_every_check_of_the_course_has_a_hint_and_every_check_named_for_one_exists(tmp_path):
    checks = collected(tmp_path, *COURSE)
    missing = without_a_hint(checks)
    assert not missing, (
        "Each check's docstring is the hint a student reads under its failure (where to look, not the solution), "
        "and nothing else; these have none:\n  " + "\n  ".join(missing))
    by_stage = {}
    for check in checks:
        by_stage.setdefault(stage_of(check), set()).add(check["function"])
    unknown = []
    for number in STAGES:
        concept, mutations = load(number)
        named = {name.split("[")[0] for name in set(concept).union(*(mutation.fails for mutation in mutations))}
        unknown += [f"tests/mutations/stage_{number:02d}.toml: {name}"
                    for name in sorted(named - by_stage.get(number, set()) - {APP_LOADS})]
    every = set().union(*by_stage.values())
    for path in sorted((ROOT / "tools").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            keys = node.keys if isinstance(node, ast.Dict) else []
            unknown += [f"{path.relative_to(ROOT)}: {key.value}" for key in keys
                        if isinstance(key, ast.Constant) and str(key.value).startswith("test_") and key.value not in every]
    assert not unknown, "These name a check that does not exist (renamed or moved?):\n  " + "\n  ".join(unknown)


def test_a_check_without_a_docstring_is_found(tmp_path):
    module = tmp_path / "course" / "test_made_up.py"
    module.parent.mkdir()
    module.write_text(
        "import pytest\n\n\n"
        "def test_with_its_hint():\n"
        '    """Look at the view for /."""\n\n\n'
        "@pytest.mark.parametrize('n', [1, 2])\n"
        "def test_without_a_hint(n):\n"
        "    assert n\n\n\n"
        "def test_with_a_description_and_a_hint():\n"
        '    """The page says hello.\n\n    Hint: look at the view."""\n',
        encoding="utf-8")
    checks = collected(tmp_path, str(module), cwd=module.parent)
    assert len(checks) == 4, checks
    assert without_a_hint(checks) == ["test_made_up.py::test_with_a_description_and_a_hint",
                                      "test_made_up.py::test_without_a_hint"], checks
