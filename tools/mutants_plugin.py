"""A pytest plugin for tests/harness/test_grading.py: run chosen checks on chosen copies of a stage.

    python -m pytest tests/test_04_forms.py tests/browser/test_04_forms_browser.py \\
        -p mutants_plugin --mutants plan.json --mutants-record record.jsonl

plan.json lists the folders to check, each with the checks to run on it:

    [{"key": "csrf-token-left-out", "stage": 4, "folder": "/tmp/x/04_forms",
      "checks": ["test_login_page_shows_the_form_with_a_csrf_token"]}, ...]

Each check (test function) a folder names runs once on that folder: the plugin parametrizes the
``stage_folder`` fixture directly (a direct parametrization overrides tests/conftest.py's fixture,
and ``app``, ``client``, ``live_server`` all build on it), so a mutated copy is tested as `make
test` tests the repo's stage, with no grader in between. Every other test is deselected.
Each test still gets its own tmp_path, log folder and app.

The record gets one JSON line per event, flushed at once:

    {"event": "collected", "id": ..., "key": ..., "function": ..., "doc": ..., "browser": ...}
    {"event": "report", "id": ..., "when": "setup"|"call"|"teardown",
     "outcome": "passed"|"failed"|"skipped", "reason": ..., "details": ...}
    {"event": "finished", "exitstatus": ...}

The record is the grader's own (grade_plugin.Recorder): a failure's reason and details are read
as the grader reads them.
"""
import json
from pathlib import Path

import pytest

from grade_plugin import Recorder as GradeRecorder

_KEYS = pytest.StashKey()


def pytest_addoption(parser):
    group = parser.getgroup("mutants", "tests/harness/test_grading.py's proofs")
    group.addoption("--mutants", metavar="FILE", help="a JSON plan: the folders and the checks to run on each")
    group.addoption("--mutants-record", metavar="FILE", help="write one JSON line per event to FILE")


def pytest_configure(config):
    path = config.getoption("--mutants")
    if not path:
        return
    plan = json.loads(Path(path).read_text(encoding="utf-8"))
    folders = [str(Path(entry["folder"])) for entry in plan]
    if len(set(folders)) != len(folders):
        raise pytest.UsageError(f"--mutants {path}: each entry needs a folder of its own")
    config.stash[_KEYS] = {str(Path(entry["folder"])): entry["key"] for entry in plan}
    config.mutants_plan = plan
    config.more_app_folders = [Path(folder) for folder in folders]  # tests/conftest.py's app host serves them
    record = config.getoption("--mutants-record")
    if record:
        config.pluginmanager.register(Recorder(config, Path(record), folders), "mutants-recorder")


def pytest_generate_tests(metafunc):
    plan = getattr(metafunc.config, "mutants_plan", None)
    if plan is None or "stage_folder" not in metafunc.fixturenames:
        return
    marked = metafunc.definition.get_closest_marker("stages")  # a check several stages share
    stages = marked.args if marked else (getattr(metafunc.module, "STAGE", None),)
    name = metafunc.function.__name__
    entries = [e for e in plan if e["stage"] in stages and name in e["checks"]]
    if entries and marked:
        metafunc.parametrize(("stage", "stage_folder"), [(e["stage"], Path(e["folder"])) for e in entries],
                             ids=[e["key"] for e in entries])
    elif entries:
        metafunc.parametrize("stage_folder", [Path(e["folder"]) for e in entries],
                             ids=[e["key"] for e in entries])


def _key(item):
    callspec = getattr(item, "callspec", None)
    folder = callspec.params.get("stage_folder") if callspec else None
    return item.config.stash[_KEYS].get(str(folder)) if folder is not None else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if _KEYS not in config.stash:
        return
    kept = [item for item in items if _key(item) is not None]
    dropped = [item for item in items if _key(item) is None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


class Recorder(GradeRecorder):
    """The grader's record (tools/grade_plugin.py), each collected check naming its plan entry (key),
    and failures explained with the plan's folders as the student's code."""

    def __init__(self, config, path, folders):
        super().__init__(config, None if hasattr(config, "workerinput") else open(path, "a", encoding="utf-8"))
        self._folders = folders

    @property
    def folders(self):
        return self._folders

    def collected(self, item):
        return {**super().collected(item), "key": _key(item)}
