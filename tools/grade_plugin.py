"""A pytest plugin for tools/grade.py: it records every check as one JSON line.

The grader runs pytest in a child process with ``-p grade_plugin --grade-channel FD``: FD is a
socket the grader handed down (an inherited file descriptor, with no path anyone could open or
replace). Each line written to it is one event, sent at once, so that even a run that
is stopped (time limit) or that dies leaves a record
of what was collected, what started and how each phase ended:

    {"event": "collected", "id": ..., "name": ..., "function": ..., "doc": ..., ...}
    {"event": "collected_ids", "ids": [...]}   (with pytest-xdist: what one worker collected)
    {"event": "start", "id": ...}
    {"event": "report", "id": ..., "when": "setup"|"call"|"teardown",
     "outcome": "passed"|"failed"|"skipped", "reason": ..., "details": ..., "duration": ...}
    {"event": "collect_error", "file": ..., "details": ...}

A report of a check whose app could not be started carries "app_error": why.
``--grade-record PATH`` writes the same lines to a file instead: for ``make watch``, the
student's own run of the checks on their own code, where there is no verdict to forge.

``--grade-only NAME`` (repeatable) keeps only the checks whose test function is
called NAME (exact names, unlike ``-k``, which matches substrings).
"""
import json
import os
import re
import traceback
from pathlib import Path

import pytest

_TIMEOUT = re.compile(r"Timeout \(>(?P<seconds>[\d.]+)s\) from pytest-timeout")


def pytest_addoption(parser):
    group = parser.getgroup("grade", "tools/grade.py")
    group.addoption("--grade-channel", type=int, metavar="FD",
                    help="write one JSON line per event to this inherited file descriptor")
    group.addoption("--grade-record", metavar="PATH", help="write the same lines to this file instead")
    group.addoption("--grade-only", action="append", default=[], metavar="NAME",
                    help="run only the checks whose test function is NAME (repeatable)")


def pytest_configure(config):
    channel, record = config.getoption("--grade-channel"), config.getoption("--grade-record")
    if channel is None and record is None:
        return
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller sends every event
        config.pluginmanager.register(Recorder(config, None), "grade-recorder")
        return
    if channel is not None:
        os.set_inheritable(channel, False)  # for pytest alone: no server or browser it starts holds it
    stream = open(channel if channel is not None else record, "w", encoding="utf-8")
    config.pluginmanager.register(Recorder(config, stream), "grade-recorder")


def pytest_collection_modifyitems(config, items):
    wanted = set(config.getoption("--grade-only"))
    if not wanted:
        return
    kept = [item for item in items if _function_name(item) in wanted]
    dropped = [item for item in items if _function_name(item) not in wanted]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


def _function_name(item):
    return getattr(item, "originalname", None) or item.name.split("[", 1)[0]


def _first_line(text):
    """The first line of a message; with the next one when it ends in ':' ("step X failed:")."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[1].removeprefix('AssertionError: ')}"
    return lines[0]


def _student_frame(error, folders):
    """'app.py, line 7: return 1 / 0' for the last frame inside a stage folder, or ''."""
    roots = [str(folder) for folder in folders]
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if any(f.filename.startswith(root) for root in roots)]
    if not frames:
        return ""
    last = frames[-1]
    root = next(r for r in roots if last.filename.startswith(r))
    where = Path(last.filename).relative_to(root)
    return f"{where}, line {last.lineno}: {(last.line or '').strip()}"


def explain(excinfo, folders=()):
    """(reason, details): the first line a person reads, and the whole message."""
    error = excinfo.value
    if isinstance(error, (pytest.fail.Exception, pytest.skip.Exception)):
        details = str(error.msg)
        timeout = _TIMEOUT.search(details)
        if timeout:
            seconds = float(timeout["seconds"])
            reason = f"did not finish within {seconds:g} s (the time limit of one check)"
            return reason, reason
        return _first_line(details), details
    if isinstance(error, AssertionError):
        details = str(error) or "an assertion failed"
        return _first_line(details), details
    where = _student_frame(error, folders)
    reason = f"{type(error).__name__}: {_first_line(error)}".rstrip(": ")
    if where:
        reason += f" (raised at {where})"
    return reason, f"{type(error).__name__}: {error}"


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')


def server_error(outputs, folders):
    """The last error a server of the app logged, with the student's line; or ''."""
    roots = [str(folder) for folder in folders]
    for path in reversed(outputs):
        try:
            lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
        if not starts:
            continue
        block = lines[starts[-1] + 1:]
        where, error = "", ""
        for i, line in enumerate(block):
            frame = _FRAME.match(line)
            if frame:
                root = next((r for r in roots if frame["file"].startswith(r)), None)
                if root:
                    code = block[i + 1].strip() if i + 1 < len(block) else ""
                    where = f"{Path(frame['file']).relative_to(root)}, line {frame['line']}: {code}"
            elif line and not line.startswith(" "):
                error = line.strip()
                break
        if error:
            return error + (f" (raised at {where})" if where else "")
    return ""


class Recorder:
    """Writes the record. With pytest-xdist the checks run in workers: each worker explains its own
    failures (it has the exception) into the report, and the controller, which sees every report
    in order, writes the events; the workers write only what they collected."""

    def __init__(self, config, out):
        self.config = config
        self.worker = hasattr(config, "workerinput")
        self.file = out  # a text stream; None in a worker

    def write(self, **event):
        if self.file is None:
            return
        self.file.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.file.flush()

    @property
    def folders(self):
        return list(getattr(self.config, "stage_folders", {}).values())

    def pytest_collectreport(self, report):
        if report.failed:
            self.write(event="collect_error", file=report.nodeid, details=str(report.longrepr))

    def collected(self, item):
        """The event that says a check was collected."""
        function = getattr(item, "function", None)
        return {"event": "collected", "id": item.nodeid, "name": item.name, "function": _function_name(item),
                "file": item.nodeid.split("::", 1)[0], "doc": getattr(function, "__doc__", None) or "",
                "browser": item.get_closest_marker("browser") is not None}

    def pytest_collection_finish(self, session):
        for item in session.items:  # with xdist, the controller has none: see below
            self.write(**self.collected(item))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        self.write(event="collected_ids", ids=list(ids))

    def pytest_runtest_logstart(self, nodeid, location):
        if not self.worker:
            self.write(event="start", id=nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        reason = details = ""
        if call.excinfo is not None and report.outcome != "passed":
            try:
                reason, details = explain(call.excinfo, self.folders)
            except Exception as error:  # never let the recorder hide a verdict
                reason = details = f"(could not read the failure: {error!r})"
            outputs = [value for name, value in item.user_properties if name == "server_output"]
            logged = server_error(outputs, self.folders) if outputs else ""
            if logged:
                reason += f"; the app's server logged {logged}"
                details += f"\nThe app's server logged: {logged}"
        app_error = next((value for name, value in item.user_properties if name == "app_error"), None)
        report.user_properties.append(("grade_event", {
            "reason": reason, "details": details[:4000],
            **({"app_error": str(app_error)} if app_error and report.when == "setup" else {})}))
        return report

    def pytest_runtest_logreport(self, report):
        if self.worker:
            return
        extra = next((value for name, value in report.user_properties if name == "grade_event"), {})
        self.write(**{"event": "report", "id": report.nodeid, "when": report.when, "outcome": report.outcome,
                      "duration": round(report.duration, 3), "reason": "", "details": "", **extra})

    def pytest_sessionfinish(self, session, exitstatus):
        if not self.worker:
            self.write(event="finished", exitstatus=int(exitstatus))

    def pytest_unconfigure(self, config):
        if self.file is not None:
            self.file.close()
