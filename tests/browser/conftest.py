"""Fixtures for the browser tests: a real headless Chromium driven by Playwright.

- ``browser``: one Chromium for the whole run (the machine's own Chromium when there is one,
  its headless shell first, else Playwright's; ``make browser`` installs one when neither is there);
- ``new_context``: makes a fresh browser context (its own cookies, like a separate browser
  window of another person); ``context`` and ``page`` are the usual single ones;
- ``step``: ``with step("submit the empty form"):`` names the step a failure happened in.

When a browser test fails, each open page's screenshot and HTML, the pages' console messages
and the server's output are saved to ``test-results/browser/<test name>/``.
"""
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from install_browser import HEADLESS_SHELLS, find_system_chromium  # tools/ is on the path (pyproject.toml)

# The flags a headless Chromium needs in a container and to stay off the network.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 15_000
# Where a failing test's screenshots and console go; BROWSER_ARTIFACTS moves them (the
# grading tests send their mutated runs' artifacts elsewhere, so a real failure's stay).
ARTIFACTS = ("test-results", "browser")

recorder_key = pytest.StashKey()


# Chromium's headless shell (its old headless mode, the one Playwright itself runs headless):
# no browser UI behind each window, about a quarter of a full Chromium's CPU per browser context.


def chromium_for_tests():
    """CHROMIUM_PATH if set; else a headless shell on the machine; else the Chromium `make browser` found."""
    if not os.environ.get("CHROMIUM_PATH"):
        for name in HEADLESS_SHELLS:
            if shutil.which(name):
                return shutil.which(name)
    return find_system_chromium()


@pytest.fixture(scope="session")
def browser():
    executable = chromium_for_tests()
    with sync_playwright() as playwright:
        try:
            # executable_path=None means Playwright's own Chromium.
            chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except PlaywrightError as error:
            failure = error.message
        else:
            failure = None
        if failure:
            where = executable or "Playwright's own Chromium"
            pytest.fail(f"Could not start the browser ({where}) for the browser tests. "
                        f"Run `make browser` to install one, or set CHROMIUM_PATH.\n{failure}", pytrace=False)
        yield chromium
        chromium.close()


class Recorder:
    """What a test's browser contexts did: the contexts, console lines, the current step,
    and the servers the test started itself (besides ``live_server``)."""

    def __init__(self, stage):
        self.stage = stage
        self.contexts = []  # (label, context)
        self.servers = []
        self.console = []
        self.step = None

    def watch(self, label, context):
        self.contexts.append((label, context))

        def where(page):
            return f"{label} {page.url}" if page else label

        context.on("console", lambda message: self.console.append(
            f"[{label}] console.{message.type}: {message.text}  ({where(message.page)})"))
        context.on("weberror", lambda error: self.console.append(
            f"[{label}] uncaught error: {error.error}  ({where(error.page)})"))
        context.on("requestfailed", lambda request: self.console.append(
            f"[{label}] request failed: {request.method} {request.url}: {request.failure}"))

        def on_response(response):
            if response.status >= 400:
                self.console.append(f"[{label}] HTTP {response.status}: "
                                    f"{response.request.method} {response.url}")

        context.on("response", on_response)


@pytest.fixture
def browser_recorder(request, stage):
    recorder = Recorder(stage)
    request.node.stash[recorder_key] = recorder
    shutil.rmtree(artifact_folder(request.node), ignore_errors=True)  # no stale screenshots
    return recorder


@pytest.fixture
def new_context(browser, browser_recorder):
    """``new_context("attendant")``: a fresh context, closed when the test ends."""
    made = []

    def make(label="browser"):
        context = browser.new_context()
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        browser_recorder.watch(label, context)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def step(browser_recorder):
    """``with step("submit the empty form"):`` a failure inside says which stage and step."""

    @contextmanager
    def named(what):
        label = f"stage {browser_recorder.stage:02d}, step '{what}'"
        browser_recorder.step = label
        try:
            yield
        except Exception as error:
            raise AssertionError(f"{label} failed:\n{type(error).__name__}: {error}") from error
        browser_recorder.step = None

    return named


def artifact_folder(item):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_")
    if os.environ.get("BROWSER_ARTIFACTS"):
        return Path(os.environ["BROWSER_ARTIFACTS"], name)
    return item.config.rootpath.joinpath(*ARTIFACTS, name)


def save_artifacts(item, recorder):
    folder = artifact_folder(item)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for label, context in recorder.contexts:
        for number, page in enumerate(context.pages, 1):
            if page.is_closed():
                continue
            base = folder / f"{label}-{number}"
            try:
                page.screenshot(path=f"{base}.png", full_page=True, timeout=5_000)
                base.with_suffix(".html").write_text(page.content(), encoding="utf-8")
                saved.append(f"{base.name}.png ({page.url})")
            except PlaywrightError as error:
                saved.append(f"{base.name}: no screenshot ({error})")
    lines = [f"Failed in: {recorder.step or 'no named step'}", "Pages: " + "; ".join(saved), ""]
    lines += recorder.console or ["(no console messages, page errors or failed requests)"]
    (folder / "console.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    servers = [item.funcargs.get("live_server"), *recorder.servers]
    for number, server in enumerate(filter(None, servers), 1):
        name = "server.txt" if number == 1 else f"server-{number}.txt"
        text = "".join(server.lines) if hasattr(server, "lines") else server.output  # all of it, if it kept it
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    recorder = item.stash.get(recorder_key, None)
    # The pages are still open here: the fixtures close them only in teardown.
    if recorder is not None and report.failed and report.when in ("setup", "call"):
        try:
            folder = save_artifacts(item, recorder)
        except Exception as error:  # saving evidence must never hide the real failure
            report.sections.append(("browser artifacts", f"could not be saved: {error!r}"))
        else:
            # BROWSER_ARTIFACTS (the grader's, a mutated copy's) may lie outside the checkout.
            root = item.config.rootpath
            where = folder.relative_to(root) if folder.is_relative_to(root) else folder
            report.sections.append(("browser artifacts",
                                    f"screenshots, page HTML, console and server output in {where}/"))
    return report
