"""Fixtures shared by every stage's tests.

Each test module names its stage with ``STAGE = N``. The fixtures then give it:

- ``stage_folder``: the stage's folder (the repo's, or a student's copy given
  with ``--stage-dir N=PATH``);
- ``app`` and ``client``: a freshly imported app with its own temporary log
  folder, and Flask's test client for it;
- ``live_server``: the stage running as a real server on 127.0.0.1.
"""
import os
from pathlib import Path

import pytest

# tools/ is on the import path (pyproject.toml's pythonpath): the tests use the tools, never
# the other way round.
from loader import StageLoadError, load_app
from stages import STAGES, stage_dir, stage_number
from support.servers import LiveServer, ServerFailed

# The checks stages 5 and 6 share: a failed assert there reports its values, as in a test file.
pytest.register_assert_rewrite("support.chat_pages")

TEST_SECRET_KEY = "test-key-used-only-by-the-test-suite"
_load_failures = {}  # folder -> the message already reported for it


def pytest_addoption(parser):
    parser.addoption(
        "--stage-dir", action="append", default=[], metavar="N=PATH",
        help="test the stage N found in PATH instead of the repo's folder (repeatable)",
    )


def pytest_configure(config):
    overrides = {}
    for value in config.getoption("--stage-dir"):
        number, sep, path = value.partition("=")
        try:
            number = stage_number(number)
        except ValueError as error:
            raise pytest.UsageError(f"--stage-dir {value}: {error}") from None
        folder = Path(path).expanduser().resolve()
        if not sep or not folder.is_dir():
            raise pytest.UsageError(f"--stage-dir {value}: expected N=PATH with PATH a folder")
        overrides[number] = folder
    config.stage_folders = {n: overrides.get(n, stage_dir(n)) for n in STAGES}


@pytest.fixture
def stage(request):
    number = getattr(request.module, "STAGE", None)
    if number is None:
        raise pytest.UsageError(f"{request.module.__name__} must say which stage it tests: STAGE = N")
    return number


@pytest.fixture
def stage_folder(request, stage):
    return request.config.stage_folders[stage]


@pytest.fixture
def log_dir(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    return folder


@pytest.fixture
def stage_env(log_dir):
    """The environment a stage runs with in tests; restored afterwards, whatever the stage set."""
    saved = os.environ.copy()
    os.environ["FLASK_SECRET_KEY"] = TEST_SECRET_KEY
    os.environ["FLASK_LOG_DIR"] = str(log_dir)
    yield {"FLASK_SECRET_KEY": TEST_SECRET_KEY, "FLASK_LOG_DIR": str(log_dir)}
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def app(stage, stage_folder, stage_env, log_dir):
    key = str(stage_folder)
    if key in _load_failures:
        pytest.skip(f"not run: the stage {stage} app could not be loaded (reported once, above)")
    try:
        flask_app, _module = load_app(stage_folder, {"TESTING": True, "LOG_DIR": str(log_dir)})
    except StageLoadError as error:
        _load_failures[key] = str(error)
        pytest.fail(f"The stage {stage} app in {stage_folder} could not be loaded:\n  {error}",
                    pytrace=False)
    return flask_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(stage, stage_folder, stage_env):
    server = LiveServer(stage, stage_folder, stage_env)
    try:
        server.start()
    except ServerFailed as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()
