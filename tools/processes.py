"""Stopping a child process and everything it started, the one way the harness does it; the
environment a child run starts from.

A child started with ``start_new_session=True`` leads its own process group: a server's
reloader child, a browser, a thread-started helper all belong to it, so signalling the group
stops them all, and nothing outlives a test, a grading or a benchmark run.
"""
import os
import signal
import subprocess

MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")


def scrubbed_env(*prefixes):
    """This process's environment for a run of the checks or the grader: without the FLASK_* settings
    (the checks set their own), PYTEST_* (a PYTEST_ADDOPTS of -x must not change the run), an outer
    make's variables, and any variable starting with one of prefixes."""
    drop = ("FLASK_", "PYTEST_", *prefixes)
    return {k: v for k, v in os.environ.items() if not k.startswith(drop) and k not in MAKE_VARIABLES}


def _signal_group(process, number):
    try:
        os.killpg(process.pid, number)
    except (ProcessLookupError, PermissionError):
        pass  # every process of the group has ended already


def stop_group(process, how=signal.SIGTERM, grace=5):
    """Send ``how`` (SIGINT is what Ctrl+C sends) to the group; SIGKILL what is left after grace s."""
    if os.name != "posix":
        process.kill()
    elif process.poll() is None:
        _signal_group(process, how)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    if os.name == "posix":
        _signal_group(process, signal.SIGKILL)  # the leader is gone: stop what is left of its group
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass


def close_input_and_wait(process, timeout):
    """End a child that ends when its input does: close its stdin and wait; True once it ended."""
    try:
        process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False
