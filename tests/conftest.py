"""Fixtures shared by every stage's tests.

A test module of one stage names it with ``STAGE = N``; a check several stages share is written
once and marked with them, ``@pytest.mark.stages(5, 6)``, and runs once for each (``[stage5]``).
``--stage N`` keeps stage N's checks alone (`make test N` and the grader pass it). The fixtures
then give a check:

- ``stage_folder``: the stage's folder (the repo's, or a student's copy given
  with ``--stage-dir N=PATH``; the grader also gives ``--stage-source N=PATH``, the submission as
  handed in, which the app never sees: then the checks read that one, and every server of
  ``stage_folder`` runs from the ``--stage-dir`` copy);
- ``app`` and ``client``: the stage's app, served for this check alone with its own
  temporary log folder, and a browser-like client of it;
- ``live_server``: the same server, for checks that need its URL;
- ``start_app``: one more app of the stage, built with the environment, folder, settings,
  URL prefix or clock a check needs.

The app never runs in this process: tools/grading/app_host.py forks a server of it for each
check (in a bubblewrap sandbox of its own where bubblewrap runs, as the grader does), and the
checks reach it from outside over HTTP and Socket.IO (support/remote.py). `make test` and the
grader therefore run the same checks the same way, and give the same verdict.
"""
import secrets
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

# tools/ is on the import path (pyproject.toml's pythonpath): the tests use the tools, never
# the other way round.
from hypothesis import HealthCheck, Phase, settings

from grading.sandbox import detect
from stages import STAGES, stage_dir, stage_number
from support.remote import RemoteApp, RemoteClient, launch_host
from support.sockets import STAGE_7_ENV

pytest_plugins = ["mutants_plugin"]  # --mutations: every check proven to bite
# The checks stages 5 and 6 share: a failed assert there reports its values, as in a test file.
pytest.register_assert_rewrite("support.chat_pages")

# Generated values (Hypothesis): a fresh seed each run, no database of past failures (a grading keeps
# nothing), no shrinking (each example talks to a server). "proof" (--hypothesis-profile proof) tries
# many more examples than a grading's.
settings.register_profile("grading", max_examples=8, derandomize=False, database=None, deadline=None,
                          print_blob=True, phases=[Phase.explicit, Phase.generate],
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("proof", settings.get_profile("grading"), max_examples=200)
settings.load_profile("grading")

# A key like any a student makes (`python -c "import secrets; print(secrets.token_hex())"`): nothing
# in the app's settings says it is being checked.
TEST_SECRET_KEY = secrets.token_hex()
_load_failures = {}  # folder -> the message already reported for it


def pytest_addoption(parser):
    parser.addoption(
        "--stage-dir", action="append", default=[], metavar="N=PATH",
        help="test the stage N found in PATH instead of the repo's folder (repeatable)",
    )
    parser.addoption(
        "--app-host", choices=("auto", "plain", "sandbox"), default="auto",
        help="how tools/grading/app_host.py serves the apps: sandbox (in a bubblewrap sandbox of "
             "their own, as the grader does), plain (not isolated), auto (sandbox where bubblewrap runs)",
    )
    parser.addoption(
        "--stage-source", action="append", default=[], metavar="N=PATH",
        help="the stage N as handed in, for the checks that read its files; its servers run from "
             "--stage-dir's copy (the grader's; repeatable)",
    )
    parser.addoption("--stage", type=_stage_option, metavar="N",
                     help="run stage N's checks alone: its own modules' and the shared checks marked with it")
    parser.addoption("--app-start-timeout", type=float, default=20, metavar="S",
                     help="seconds an app has to import and start serving (default 20)")


def _stage_option(text):
    try:
        return stage_number(text)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None


def pytest_generate_tests(metafunc):
    # A check several stages share runs once for each; with --mutations, a check also runs on each
    # copy of its stage it must fail (tools/mutants_plugin.py).
    marked = metafunc.definition.get_closest_marker("stages")
    stages = marked.args if marked else (getattr(metafunc.module, "STAGE", None),)
    mutants = metafunc.config.pluginmanager.get_plugin("mutants_plugin")
    proofs = mutants.params(metafunc, stages)
    if marked and not proofs:
        metafunc.parametrize("stage", marked.args, ids=[f"stage{n}" for n in marked.args])
    elif marked:
        metafunc.parametrize(("stage", "mutation"), [pytest.param(n, None, id=f"stage{n}") for n in marked.args] + [
            pytest.param(n, proof, id=f"stage{n}-{proof.id}", marks=mutants.marks(proof)) for n, proof in proofs])
    elif proofs:
        metafunc.parametrize("mutation", [pytest.param(None, id=pytest.HIDDEN_PARAM)] + [
            pytest.param(proof, id=proof.id, marks=mutants.marks(proof)) for _, proof in proofs])


def item_stage(item):
    """The stage one collected check runs for, or None (a check of the tools)."""
    callspec = getattr(item, "callspec", None)
    if callspec and "stage" in callspec.params:
        return callspec.params["stage"]
    return getattr(item.module, "STAGE", None)


def pytest_collection_modifyitems(config, items):
    wanted = config.getoption("--stage")
    if wanted is None:
        return
    dropped = [item for item in items if item_stage(item) != wanted]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item_stage(item) == wanted]


def _stage_folders(config, option):
    found = {}
    for value in config.getoption(option):
        number, sep, path = value.partition("=")
        try:
            number = stage_number(number)
        except ValueError as error:
            raise pytest.UsageError(f"{option} {value}: {error}") from None
        folder = Path(path).expanduser().resolve()
        if not sep or not folder.is_dir():
            raise pytest.UsageError(f"{option} {value}: expected N=PATH with PATH a folder")
        found[number] = folder
    return found


def pytest_configure(config):
    overrides = _stage_folders(config, "--stage-dir")
    config.stage_folders = {n: overrides.get(n, stage_dir(n)) for n in STAGES}
    config.stage_sources = _stage_folders(config, "--stage-source")


@pytest.fixture
def stage(request):
    number = getattr(request.module, "STAGE", None)
    if number is None:
        raise pytest.UsageError(f"{request.node.nodeid} must say which stage it checks: STAGE = N in its "
                                "module, or @pytest.mark.stages(N, ...) on the check")
    return number


@pytest.fixture
def stage_folder(request, stage, mutation, tmp_path_factory):
    if mutation is not None:  # --mutations: a copy of the stage this check must fail on
        return mutation.folder(tmp_path_factory)
    return request.config.stage_sources.get(stage) or request.config.stage_folders[stage]


@pytest.fixture
def tmp_path(request, tmp_path_factory):
    """A fresh folder of this check's own, named after the stage (pytest's own is named after the
    check: the app sees the paths in it, and must not learn which check is looking)."""
    number = item_stage(request.node)
    return tmp_path_factory.mktemp(STAGES[number] if number in STAGES else "work", numbered=True)


@pytest.fixture
def log_dir(tmp_path):
    """The app's log folder, where `flask run` in the stage's folder would have it."""
    folder = tmp_path / "instance" / "logs"
    folder.mkdir(parents=True)
    return folder


# What a stage's server gets besides its key and log folder: stage 7's attendant and message rate.
STAGE_ENV = {7: STAGE_7_ENV}


@pytest.fixture
def stage_env(stage, log_dir):
    """The environment (FLASK_* settings) a stage's server gets in a check."""
    return {"FLASK_SECRET_KEY": TEST_SECRET_KEY, "FLASK_LOG_DIR": str(log_dir), **STAGE_ENV.get(stage, {})}


def app_host_mode(config):
    mode = config.getoption("--app-host")
    if mode == "auto":
        mode = "sandbox" if detect() == "bwrap" else "plain"
    return mode


def _launch_app_host(config):
    if config.pluginmanager.has_plugin("dsession") or config.option.collectonly:
        return None  # pytest-xdist's controller runs no check: each worker has its own host
    mode = config.app_host_mode = app_host_mode(config)
    basetemp = config._tmp_path_factory.getbasetemp()
    # The folder holding pytest's temporary folders also holds the grader's record of the
    # checks: hidden from the app, but for the temporary folders (log folders, copies) and the
    # folders tested instead of the repo's (--stage-dir; a plugin's, such as mutated copies).
    given = [folder for n, folder in config.stage_folders.items() if folder != stage_dir(n)]
    writable = [basetemp, *given, *getattr(config, "more_app_folders", [])]
    sources = config.stage_sources
    # The repo's own stages, read-only (in a grading they are empty: the grader hides them).
    own = [folder for n, folder in config.stage_folders.items() if folder == stage_dir(n) and folder.is_dir()]
    return launch_host(mode, hide=[basetemp.parent, *sources.values()], writable=writable, readable=own,
                       served_from={source: config.stage_folders[n] for n, source in sources.items()})


def pytest_report_header(config):
    mode = getattr(config, "app_host_mode", None) or app_host_mode(config)  # xdist's controller has no host
    return ("apps: served by tools/grading/app_host.py, " +
            ("each in a bubblewrap sandbox" if mode == "sandbox" else
             "NOT sandboxed (bubblewrap is not installed or cannot run here: `make sandbox`)"))


def pytest_sessionstart(session):
    # The app host starts now, and imports Flask while pytest collects the checks.
    session.config.app_host = _launch_app_host(session.config)


def pytest_unconfigure(config):
    host = getattr(config, "app_host", None)
    if host is not None:
        host.close()


@pytest.fixture(scope="session")
def app_host(request):
    """The app host: started once per process, serving every check's app."""
    return request.config.app_host


def _start_server(request, app_host, folder, env, config, output, **options):
    timeout = request.config.getoption("--app-start-timeout")
    server = app_host.start(folder, env, config, output, timeout=timeout, **options)
    request.addfinalizer(server.stop)
    # tools/grade_plugin.py reads it when the check fails: the app's own error is the reason.
    request.node.user_properties.append(("server_output", str(output)))
    return server


@pytest.fixture
def server(request, app_host, stage, stage_folder, stage_env, log_dir, tmp_path):
    """This check's own server of the app, with the check's environment."""
    key = str(stage_folder)
    if key in _load_failures:
        pytest.skip(f"not run: the stage {stage} app could not be loaded (reported once, above)")
    started = _start_server(request, app_host, stage_folder, stage_env, None, tmp_path / "server-output.txt")
    if started.error:
        _load_failures[key] = started.error
        request.node.user_properties.append(("app_error", started.error))  # the grader's "the app loads"
        pytest.fail(f"The stage {stage} app in {stage_folder} could not be started:\n  {started.error}",
                    pytrace=False)
    return started


@pytest.fixture
def app(server):
    return RemoteApp(server)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(server):
    return server


class StartedApp:
    """One more app of the stage, as start_app built it: a server of the app host."""

    def __init__(self, server):
        self._server, self.error = server, server.error

    @property
    def url(self):
        return None if self.error else self._server.url

    def test_client(self):
        return self.client()

    def client(self, address=None):
        assert not self.error, f"The app could not be started: {self.error}"
        return RemoteClient(self._server.port, address)

    def output(self):
        """What the app printed and logged so far."""
        return self._server.output


@pytest.fixture
def start_app(request, app_host, stage_folder, stage_env, log_dir, tmp_path):
    """start_app(env=None, folder=None, config=..., cwd=None, prefix="", clock=None): one more app.

    env: the FLASK_* settings it sees (default: the check's); folder: the stage folder to load;
    config: create_app's test_config (default None: none, as `flask run`; the settings are env's);
    cwd: where it starts (default: folder); prefix: the URL prefix it is served under; clock: an
    ISO time its clock starts at (it ticks on). TZ in env sets its time zone.
    """
    count = [0]

    def start(env=None, folder=None, config=None, cwd=None, prefix="", clock=None):
        env = dict(stage_env if env is None else env)
        folder = Path(folder or stage_folder)
        count[0] += 1
        return StartedApp(_start_server(request, app_host, folder, env, config,
                                        tmp_path / f"app-{count[0]}-output.txt", cwd=cwd, prefix=prefix, clock=clock))

    return start



class OneByOneButHarnessModules(LoadScopeScheduling):
    """pytest-xdist hands out the checks one by one, but each module of tests/harness/ to one worker
    (test_grading.py's module fixture starts all its gradings at once)."""

    def _split_scope(self, nodeid):
        return nodeid.split("::", 1)[0] if nodeid.startswith("tests/harness/") else nodeid


@pytest.hookimpl(optionalhook=True)  # a run without pytest-xdist (-p no:xdist) has no such hook
def pytest_xdist_make_scheduler(config, log):
    return OneByOneButHarnessModules(config, log) if config.getvalue("dist") == "load" else None
