"""Stage 7 restarted under open chat windows, as a student does it: Ctrl+C, then `make stage 7`.

The server runs as `flask run` runs it, on one port; the windows stay open while it is down,
and come back by themselves when it is up again on the same port. (That `make stage 7` gets
the same port back is tools/serve.py's part: tests/harness/test_tooling.py proves it.)
"""
import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from chat_windows import join_chat, send_and_see, start_chat
from stages import parse_log_line

STAGE = 7
pytestmark = pytest.mark.browser
# socket.io-client retries after about 1, 2, 4, then every 5 s (each ±50%): a server that is
# back within a few seconds is joined again well within this.
RECONNECT_MS = 20_000
# (who sends it, the message): the user and the attendant take turns.
BEFORE = [("user", "Before the restart: is anyone there?"), ("attendant", "Yes, I am here.")]
AFTER = [("user", "After the restart: still there?"), ("attendant", "Still here, nothing lost.")]


@pytest.fixture
def make_stage(app_host, stage_folder, stage_env, tmp_path):
    """``make_stage(port=None)``: start stage 7 as `flask run` would (no test config), on the port
    asked for, from the app host; every one is stopped at the end. Stopping one is the Ctrl+C."""
    started = []

    def start(port=None):
        server = app_host.start(stage_folder, stage_env, None, tmp_path / f"server-{len(started)}.txt", port=port or 0)
        started.append(server)
        if server.error:
            pytest.fail(f"The stage 7 app could not be started: {server.error}", pytrace=False)
        return server

    yield start
    for server in started:
        server.stop()


def lines_of(messages):
    """The page's line of each message, in order: '<time, to the minute> <role>: <text>'."""
    return [re.compile(rf"^.*[0-9]:[0-9][0-9] {role}: {re.escape(text)}$") for role, text in messages]


def test_after_ctrl_c_and_a_restart_on_the_same_port_both_windows_rejoin_with_the_whole_history_once(
        make_stage, new_context, step, log_dir):
    """chat.js joins on every connect (reconnects included), and history replaces the list."""
    # Restarted on its port, the server gets both open chat windows back: each rejoins by itself, shows every
    # earlier message exactly once, and the chat goes on.
    with step("`make stage 7`: a user and an attendant chat"):
        server = make_stage()
        port = server.port
        user = start_chat(new_context, server.url)
        attendant = join_chat(new_context, server.url, user.chat_id)
        send_and_see(user, attendant, BEFORE[0][1])
        send_and_see(attendant, user, BEFORE[1][1])
        windows = (user, attendant)
        for window in windows:
            window.mark_page()
    with step("Ctrl+C stops the server; both windows see the connection is gone"):
        assert server.interrupt() is not None, (
            f"Ctrl+C should stop `make stage 7` even with chat windows open:\n{server.output}")
        for window in windows:
            window.forget_socket()  # the next WebSocket a window opens is its way back
            expect(window.page.get_by_role("button", name="Send"),
                   f"With the server stopped, the {window.role}'s Send button should be disabled"
                   ).to_be_disabled()
    with step(f"`make stage 7` again: the server comes back on port {port}"):
        again = make_stage(port=port)
        assert again.port == port, (
            f"After Ctrl+C with chat windows open, the server came back on port {again.port}, not {port}, "
            f"so the open windows can never reconnect. Its output:\n{again.output}")
    with step("both windows reconnect by themselves and join the chat again"):
        for window in windows:
            try:
                # socket.io's own retries bring the WebSocket back; joining then takes no longer than any join.
                window.wait_for_socket(timeout=RECONNECT_MS)
                window.wait_until_live()
            except (AssertionError, PlaywrightError) as error:
                raise AssertionError(
                    f"The {window.role}'s window should reconnect and join again by itself once the server is "
                    f"back (socket.io reconnects; chat.js joins on every connect).\n{error}") from error
            assert window.still_same_page(), f"The {window.role}'s window should rejoin without a reload"
    with step("each window shows the history exactly once"):
        for window in windows:
            expect(window.chat_lines,
                   f"After rejoining, the {window.role}'s window should list each earlier message exactly "
                   f"once, in order (history replaces the list, it is not added to it)").to_have_text(
                lines_of(BEFORE))
    with step("the chat goes on both ways"):
        send_and_see(user, attendant, AFTER[0][1])
        send_and_see(attendant, user, AFTER[1][1])
        for window in windows:
            expect(window.chat_lines, f"The {window.role}'s window should list the whole chat once, in order"
                   ).to_have_text(lines_of(BEFORE + AFTER))
    with step("the server logged each message once, across the restart"):
        log = log_dir / f"chat_{user.chat_id}.log"
        logged = [parse_log_line(line)[1:] for line in log.read_text(encoding="utf-8").splitlines()]
        assert logged == BEFORE + AFTER, f"{log.name} should hold the four messages once each, in order: {logged}"
