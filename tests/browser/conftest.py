"""The browser tests drive a real headless Chromium with pytest-playwright's fixtures: ``browser``,
``context``, ``page`` and ``new_context()`` (a fresh context: its own cookies, like another person's
browser). Here they get this machine's Chromium, the one `make browser` found (its headless shell
first), and time limits of their own; ``step`` names the step a failure happened in.

When a browser test fails, pytest-playwright saves each open page's screenshot (pyproject.toml's
``--screenshot only-on-failure``) in ``test-results/browser/<test>/`` (``--output``), and the pages'
console messages and uncaught errors go in ``console.txt`` beside them.
"""
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from install_browser import HEADLESS_SHELLS, find_system_chromium  # tools/ is on the path (pyproject.toml)

# The flags a headless Chromium needs in a container and to stay off the network.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 15_000
console_key = pytest.StashKey()


def chromium_for_tests():
    """CHROMIUM_PATH if set; else a headless shell on the machine (Chromium without its browser UI:
    about half the CPU); else the Chromium `make browser` found; None: Playwright's own."""
    if not os.environ.get("CHROMIUM_PATH"):
        for name in HEADLESS_SHELLS:
            if shutil.which(name):
                return shutil.which(name)
    return find_system_chromium()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": chromium_for_tests(), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser(launch_browser, browser_type_launch_args):
    try:
        chromium = launch_browser()
    except PlaywrightError as error:
        failure = error.message
    else:
        failure = None
    if failure:
        where = browser_type_launch_args["executable_path"] or "Playwright's own Chromium"
        pytest.fail(f"Could not start the browser ({where}) for the browser tests. "
                    f"Run `make browser` to install one, or set CHROMIUM_PATH.\n{failure}", pytrace=False)
    yield chromium
    chromium.close()


@pytest.fixture
def new_context(new_context, request, output_path):
    """pytest-playwright's ``new_context()``, with the tests' time limits and a record of its pages' console."""
    console = []
    request.node.stash[console_key] = (console, Path(output_path))

    def make(**options):
        context = new_context(**options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        context.on("console", lambda message: console.append(
            f"console.{message.type}: {message.text}  ({message.page.url if message.page else ''})"))
        context.on("weberror", lambda error: console.append(
            f"uncaught error: {error.error}  ({error.page.url if error.page else ''})"))
        return context

    return make


@pytest.fixture
def step(stage):
    """``with step("submit the empty form"):`` a failure inside says which stage and step."""

    @contextmanager
    def named(what):
        label = f"stage {stage:02d}, step '{what}'"
        try:
            yield
        except Exception as error:
            raise AssertionError(f"{label} failed:\n{type(error).__name__}: {error}") from error

    return named


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    console, folder = item.stash.get(console_key, (None, None))
    if console is not None and report.failed and report.when in ("setup", "call"):
        folder.mkdir(parents=True, exist_ok=True)
        lines = console or ["(no console messages or uncaught errors)"]
        (folder / "console.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report
