"""Fixtures shared by every stage's tests.

Each test module names its stage with ``STAGE = N``. The fixtures then give it:

- ``stage_folder``: the stage's folder (the repo's, or a student's copy given
  with ``--stage-dir N=PATH``);
- ``app`` and ``client``: a freshly imported app with its own temporary log
  folder, and Flask's test client for it;
- ``live_server``: the stage running as a real server on 127.0.0.1;
- ``start_app``: one more app of the stage, built with the environment, folder, settings,
  URL prefix or clock a check needs.

Two modes. Locally (``make test``) the app is imported into this process: fast. In remote
mode (``--app-host=sandbox``, as the grader runs the suite; ``plain`` without bubblewrap) the
app never runs here: each check gets its own server, forked by tools/grading/app_host.py, and
``client``, ``app`` and ``live_server`` reach it over HTTP (support/remote.py). A check
observes the app from outside, so it gives the same verdict in both.
"""
import logging
import os
import time
from pathlib import Path

import pytest
import time_machine
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

# tools/ is on the import path (pyproject.toml's pythonpath): the tests use the tools, never
# the other way round.
from loader import StageLoadError, load_app
from stages import STAGES, stage_dir, stage_number
from support.remote import RemoteApp, RemoteClient, SuiteClient, launch_host
from support.servers import LiveServer, ServerFailed

# The checks stages 5 and 6 share: a failed assert there reports its values, as in a test file.
pytest.register_assert_rewrite("support.chat_pages")

TEST_SECRET_KEY = "test-key-used-only-by-the-test-suite"
_load_failures = {}  # folder -> the message already reported for it
DEFAULT = object()  # start_app's config when a check gives none


def pytest_addoption(parser):
    parser.addoption(
        "--stage-dir", action="append", default=[], metavar="N=PATH",
        help="test the stage N found in PATH instead of the repo's folder (repeatable)",
    )
    parser.addoption(
        "--app-host", choices=("plain", "sandbox"), default=None,
        help="remote mode: never import the app here; serve it from tools/grading/app_host.py "
             "(sandbox: in a bubblewrap sandbox of its own, as the grader does)",
    )
    parser.addoption("--app-start-timeout", type=float, default=20, metavar="S",
                     help="remote mode: seconds an app has to import and start serving (default 20)")


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


def _launch_app_host(config):
    mode = config.getoption("--app-host")
    if not mode:
        return None
    basetemp = config._tmp_path_factory.getbasetemp()
    # The folder holding pytest's temporary folders also holds the grader's record of the
    # checks: hidden from the app, but for the temporary folders (log folders, copies) and the
    # graded copy itself.
    writable = [basetemp, *(folder for n, folder in config.stage_folders.items() if folder != stage_dir(n))]
    return launch_host(mode, hide=[basetemp.parent], writable=writable)


def pytest_sessionstart(session):
    # Remote mode: the app host starts now, and imports Flask while pytest collects the checks.
    session.config.app_host = _launch_app_host(session.config)


def pytest_unconfigure(config):
    host = getattr(config, "app_host", None)
    if host is not None:
        host.close()


@pytest.fixture(scope="session")
def app_host(request):
    """The app host of remote mode (None locally): started once, serving every check's app."""
    return request.config.app_host


@pytest.fixture
def remote(app_host):
    """Whether the checks reach the app from outside (the grader's remote mode)."""
    return app_host is not None


def _start_remote(request, app_host, folder, env, config, output, **options):
    timeout = request.config.getoption("--app-start-timeout")
    server = app_host.start(folder, env, config, output, timeout=timeout, **options)
    request.addfinalizer(server.stop)
    # tools/grade_plugin.py reads it when the check fails: the app's own error is the reason.
    request.node.user_properties.append(("server_output", str(output)))
    return server


@pytest.fixture
def server(request, app_host, stage, stage_folder, stage_env, log_dir, tmp_path):
    """Remote mode: this check's own server of the app, with the check's environment."""
    key = str(stage_folder)
    if key in _load_failures:
        pytest.skip(f"not run: the stage {stage} app could not be loaded (reported once, above)")
    started = _start_remote(request, app_host, stage_folder, stage_env,
                            {"TESTING": True, "LOG_DIR": str(log_dir)}, tmp_path / "server-output.txt")
    if started.error:
        _load_failures[key] = started.error
        request.node.user_properties.append(("app_error", started.error))  # the grader's "the app loads"
        pytest.fail(f"The stage {stage} app in {stage_folder} could not be started:\n  {started.error}",
                    pytrace=False)
    return started


@pytest.fixture
def app(request, remote, stage, stage_folder, stage_env, log_dir):
    if remote:
        return RemoteApp(request.getfixturevalue("server"))
    key = str(stage_folder)
    if key in _load_failures:
        pytest.skip(f"not run: the stage {stage} app could not be loaded (reported once, above)")
    try:
        flask_app, _module = load_app(stage_folder, {"TESTING": True, "LOG_DIR": str(log_dir)})
    except StageLoadError as error:
        _load_failures[key] = str(error)
        pytest.fail(f"The stage {stage} app in {stage_folder} could not be loaded:\n  {error}",
                    pytrace=False)
    flask_app.test_client_class = SuiteClient
    return flask_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(request, remote, stage, stage_folder, stage_env):
    if remote:
        yield request.getfixturevalue("server")
        return
    server = LiveServer(stage, stage_folder, stage_env)
    try:
        server.start()
    except ServerFailed as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()


class StartedApp:
    """One more app of the stage, as start_app built it: in this process, or a server."""

    def __init__(self, app=None, server=None, error=None, records=None):
        self.app, self._server, self.error, self._records = app, server, error, records

    @property
    def url(self):
        return self._server.url if self._server and not self.error else None

    @property
    def remote(self):
        return self._server is not None

    @property
    def served(self):
        """What a check hands to helpers that take ``app``: the Flask app locally, else this."""
        return self if self.remote else self.app

    def test_client(self):
        return self.client()

    def client(self):
        assert not self.error, f"The app could not be started: {self.error}"
        if self._server:
            return RemoteClient(self._server.port)
        return self.app.test_client()

    def output(self):
        """What the app printed and logged so far."""
        if self._server:
            return self._server.output
        return "".join(f"{r.levelname}:{r.name}:{r.getMessage()}\n" for r in self._records)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def start_app(request, remote, app_host, stage_folder, stage_env, log_dir, tmp_path):
    """start_app(env=None, folder=None, config=..., cwd=None, prefix="", clock=None): one more app.

    env: the FLASK_* settings it sees (default: the check's); folder: the stage folder to load;
    config: create_app's test_config (None: none at all; default: TESTING and the log folder);
    cwd: where it starts (default: folder); prefix: the URL prefix it is served under; clock: an
    ISO time its clock starts at (it ticks on). TZ in env sets its time zone (in both modes).
    """
    count = [0]
    saved_tz = os.environ.get("TZ")

    def restore_tz():
        if saved_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved_tz
        time.tzset()

    request.addfinalizer(restore_tz)

    def start(env=None, folder=None, config=DEFAULT, cwd=None, prefix="", clock=None):
        env = dict(stage_env if env is None else env)
        folder = Path(folder or stage_folder)
        if config is DEFAULT:
            config = {"TESTING": True, "LOG_DIR": str(log_dir)}
        if remote:
            count[0] += 1
            server = _start_remote(request, app_host, folder, env, config,
                                   tmp_path / f"app-{count[0]}-output.txt", cwd=cwd, prefix=prefix, clock=clock)
            return StartedApp(server=server, error=server.error)
        return _start_local(request, folder, env, config, cwd, prefix, clock)

    return start


def _start_local(request, folder, env, config, cwd, prefix, clock):
    handler = _Records()
    logging.getLogger().addHandler(handler)
    request.addfinalizer(lambda: logging.getLogger().removeHandler(handler))
    if clock:
        traveller = time_machine.travel(clock, tick=True)
        traveller.start()
        request.addfinalizer(traveller.stop)
    saved_env, saved_cwd = os.environ.copy(), os.getcwd()
    os.environ.clear()
    os.environ.update({k: v for k, v in saved_env.items() if not k.startswith("FLASK_")}, **env)
    time.tzset()
    os.chdir(cwd or folder)
    try:
        flask_app, _module = load_app(folder, config)
    except StageLoadError as error:
        return StartedApp(error=f"The app could not be loaded: {error}", records=handler.records)
    except SystemExit as exit_:  # as the app host says it: the check sees the same reason
        return StartedApp(error=f"The app ended the Python process while it was being loaded (exit({exit_.code!r}))",
                          records=handler.records)
    finally:
        tz = os.environ.get("TZ")
        os.environ.clear()
        os.environ.update(saved_env)
        if tz is not None:  # the zone stays the app's for the rest of the check
            os.environ["TZ"] = tz
        os.chdir(saved_cwd)
    flask_app.test_client_class = SuiteClient
    if prefix:
        flask_app.wsgi_app = DispatcherMiddleware(NotFound(), {prefix: flask_app.wsgi_app})
    return StartedApp(app=flask_app, records=handler.records)
