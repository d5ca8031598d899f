"""Stage 7 under faults and abuse: a full disk, lines the app never wrote, hostile clients.

Each check states one bound or one fault and what the sender is told; none of them may cost a
server error, a lost message or another session's time.
"""
import json
import math
import shutil
import time

import pytest

from stages import parse_log_line
from support.chat_pages import NOT_WRITTEN_BY_THE_APP, UNFINISHED_LAST_LINE, disk  # noqa: F401 (a fixture)
from support.remote import RemoteClient
from support.sockets import (ATTENDANT_NAME, SocketWindow, close_windows, sign_in, signed_in,
                             start_chat, window)

STAGE = 7


@pytest.fixture(autouse=True)
def windows_closed():
    """The real windows a test opened are closed after it."""
    yield
    close_windows()


def session_log(log_dir, chat_id):
    return log_dir / f"chat_{chat_id}.log"


def whole_lines(path):
    """The (role, text) of every line, checking each is a whole line the app wrote."""
    messages = []
    content = path.read_bytes().decode("utf-8")
    assert content.endswith("\n"), f"{path.name} should end with a whole line"
    for line in content.split("\n")[:-1]:
        _time, role, text = parse_log_line(line)
        messages.append((role, text))
    return messages


# --- The log: whole lines only, whatever the disk does ----------------------------------------------

def test_a_full_disk_never_corrupts_a_session_log(disk, live_server, log_dir):  # noqa: F811
    """Look at chat_log.append and the message handler when the disk fills up: what becomes of a line written in
    part, and what the sender hears."""
    # On a 64 kB tmpfs where the machine lets the tests mount one, and with an injected full disk (the server's
    # file size limit) everywhere.
    disk.server = live_server
    browser = RemoteClient(live_server.url)
    chat_id = start_chat(browser)
    log = session_log(log_dir, chat_id)
    before = [f"message {n} {'x' * 480}" for n in range(7)]
    with SocketWindow(live_server.url, browser) as user:
        user.join(chat_id, "user")
        for text in before:
            user.send(text)
            assert user.expect("message", "after sending")["text"] == text, "Each message should come back"
        logged = log.read_bytes()
        disk.fill(log)
        for attempt in range(2):
            user.send(f"disk full {attempt} " + "y" * 480)
            error = user.expect("chat_error", "after sending with the disk full")["error"]
            assert "could not be saved" in error, (
                f"With the disk full the sender should get a chat_error saying the message could not be saved, "
                f"got {error!r}"
            )
            assert log.read_bytes() == logged, (
                f"A write that hit the full disk must leave {log.name} exactly as it was: no half line, nothing lost"
            )
        assert user.received("message") == [], "A message that could not be saved must not be shown as sent"
        disk.free()
        user.send("room again")
        assert user.expect("message", "once the disk had room again")["text"] == "room again", (
            "Once the disk has room again, sending should work again"
        )
    assert whole_lines(log) == [("user", text) for text in before + ["room again"]], (
        f"{log.name} should hold every message that was sent, each on its own whole line"
    )
    with SocketWindow(live_server.url, signed_in(RemoteClient(live_server.url))) as again:
        history = again.join(chat_id, "attendant")["messages"]
    assert [m["text"] for m in history] == before + ["room again"], "Joining later should give that whole history"


def test_a_log_with_lines_the_app_never_wrote_still_gives_the_history(live_server, log_dir):
    """Look at chat_log.read: a line that is not exactly what append() writes is skipped, never a crash."""
    chat_id = start_chat(RemoteClient(live_server.url))
    session_log(log_dir, chat_id).write_bytes(
        b'2026-01-01T00:00:00 user "written before"\n'
        + b"".join(NOT_WRITTEN_BY_THE_APP)
        + b'2026-01-01T00:00:01 attendant "written after"\n'
        + UNFINISHED_LAST_LINE
    )
    with SocketWindow(live_server.url, signed_in(RemoteClient(live_server.url))) as attendant:
        history = attendant.join(chat_id, "attendant")
    assert [(m["role"], m["text"]) for m in history["messages"]] == [
        ("user", "written before"), ("attendant", "written after")], (
        "The history should hold exactly the lines the app wrote, skipping every other line "
        "(not UTF-8, half a character, JSON nested 100,000 deep, not a string, unfinished)"
    )


# --- Only its own host names: DNS rebinding ------------------------------------------------------

POLLING = "/socket.io/?EIO=4&transport=polling"


def test_only_its_own_host_names_are_answered(client):
    """Look at where the app sets TRUSTED_HOSTS (hardening.py): Flask answers 400 to a Host not in it, Socket.IO
    included."""
    for host in ("localhost", "127.0.0.1", "127.0.0.1:5000"):
        status = client.get("/", headers={"Host": host}).status_code
        assert status == 200, f"A request for host {host} should be answered 200, not {status}"
    status = client.get("/", headers={"Host": "rebound.example"}).status_code
    assert status == 400, (
        "A request naming another host (rebound.example: DNS rebinding points a site's name at 127.0.0.1) "
        f"should get 400, not {status}: set TRUSTED_HOSTS"
    )
    socket = client.get(POLLING, headers={"Host": "rebound.example", "Origin": "http://rebound.example"})
    assert socket.status_code == 400, (
        f"A Socket.IO connection from a page of rebound.example should be refused (400), not {socket.status_code}"
    )


def test_the_host_names_come_from_the_environment(start_app, stage_env):
    """Look at where TRUSTED_HOSTS gets its value: FLASK_TRUSTED_HOSTS, a comma-separated list, when it is set."""
    started = start_app(env={**stage_env, "FLASK_TRUSTED_HOSTS": "chat.example,127.0.0.1"})
    assert started.error is None, f"With FLASK_TRUSTED_HOSTS=chat.example,127.0.0.1 the app should start: {started.error}"
    client = started.client()
    assert client.get("/", headers={"Host": "chat.example"}).status_code == 200, (
        "FLASK_TRUSTED_HOSTS=chat.example,127.0.0.1 should let requests for chat.example in"
    )
    assert client.get("/", headers={"Host": "localhost"}).status_code == 400, (
        "FLASK_TRUSTED_HOSTS=chat.example,127.0.0.1 should turn away requests for localhost"
    )


# --- Bounds: what one client may cost -------------------------------------------------------------

def test_a_long_session_reaches_a_newly_joined_window_and_the_chat_page_whole(app, client, log_dir):
    """Look at what the join handler and the chat page read from the session's log: all of it, never the last
    few lines."""
    chat_id = start_chat(client)
    texts = [f"message {n}." for n in range(1000)]
    with open(session_log(log_dir, chat_id), "w", encoding="utf-8") as log:
        log.writelines(f'2026-01-01T00:00:00 user {json.dumps(text)}\n' for text in texts)
    sock = window(app, client)
    history = [m["text"] for m in sock.join(chat_id, "user")["messages"]]
    assert history == texts, (
        f"A window that joins a session of 1,000 messages should get the whole log in its history, oldest "
        f"first; it got {len(history)} messages, from {history[:1]} to {history[-1:]}")
    page = client.get(f"/user/{chat_id}").text
    missing = [text for text in texts if f"</strong>: {text}</li>" not in page]
    assert not missing, (
        f"The chat page of a 1,000-message session should show every message; {len(missing)} are not on it, "
        f"e.g. {missing[:3]}")


TABS, FLOOD = 8, 8  # a tab's flood takes a fraction of a second: each new tab would start a new count


def test_a_flood_from_one_address_gets_chat_errors_is_not_logged_and_a_new_window_does_not_reset_it(
        start_app, stage_env, log_dir):
    """Count the messages per client address on the server (Flask-Limiter's limiter.limiter.hit with
    request.remote_addr), never per connection: a new connection would start from nothing."""
    # With FLASK_MESSAGE_RATE="1 per second", one address gets at most one message a second through, however
    # many windows it opens: the rest get chat_errors and are not logged.
    started = start_app(env={**stage_env, "FLASK_MESSAGE_RATE": "1 per second"})
    client = started.client()
    chat_id = start_chat(client)
    tabs = [window(started, client) for _ in range(TABS)]  # the same browser, eight tabs
    for sock in tabs:
        sock.join(chat_id, "user")
    taken, refused = [], []
    began = time.monotonic()
    for number, sock in enumerate(tabs):  # a flood from the first tab, as fast as it can, then from the next
        for n in range(FLOOD):
            sock.emit("message", {"text": f"tab {number} message {n}"})  # returns on the server's answer
        answers = sock.received()
        # Its own messages come back to it (the room's others too: they are the other tabs').
        texts = [payload["text"] for name, payload in answers
                 if name == "message" and payload["text"].startswith(f"tab {number} ")]
        errors = [payload["error"] for name, payload in answers if name == "chat_error"]
        assert errors and all("Too many messages" in error for error in errors), (
            f"{FLOOD} messages at once from tab {number + 1} should get chat_errors saying 'Too many messages'; "
            f"got {errors or 'none'} (and {len(texts)} taken)")
        taken += texts
        refused += errors
    # Whatever the machine's speed: at one message a second, a flood of s seconds (and a fraction)
    # has at most s + 1 messages taken. The tabs of one address share that count.
    whole_seconds = math.floor(time.monotonic() - began)
    assert len(taken) <= whole_seconds + 1, (
        f"With FLASK_MESSAGE_RATE='1 per second', {TABS} tabs of one address flooding for {whole_seconds} s (and a "
        f"fraction) should get at most {whole_seconds + 1} messages through, not {len(taken)}: {taken}. Count "
        "per client address, not per connection: a new window must not start the count again")
    assert len(taken) + len(refused) == TABS * FLOOD, (
        f"Each of the {TABS * FLOOD} messages should be answered once, taken or refused: {len(taken)} taken, "
        f"{len(refused)} refused")
    logged = [text for _role, text in whole_lines(session_log(log_dir, chat_id))]
    assert logged == taken, f"Only the messages that were taken should be in the log, in order: {logged}"


def test_a_message_up_to_the_packet_limit_gets_a_chat_error_and_keeps_the_connection(live_server):
    """Look at the message handler's length check and at the Socket.IO packet limit in hardening.py: a message
    over 500 characters but within the limit gets a chat_error."""
    browser = RemoteClient(live_server.url)
    chat_id = start_chat(browser)
    with SocketWindow(live_server.url, browser) as user:
        user.join(chat_id, "user")
        user.send("x" * 60_000)  # 60 kB: within the transport's limit, far over MAX_LENGTH
        error = user.expect("chat_error", "after a 60,000-character message")["error"]
        assert "500" in error, f"A 60,000-character message should get the chat_error naming the limit, got {error!r}"
        user.send("still here")
        assert user.expect("message", "after the refused message")["text"] == "still here", (
            "After a too-long message the connection should still carry messages"
        )


def test_a_packet_over_the_limit_closes_its_own_connection_and_nothing_else(live_server, log_dir):
    """SocketIO(..., max_http_buffer_size=...): Engine.IO's default reads packets up to 1 MB."""
    # A Socket.IO packet over 64 kB is never read: the server closes that connection (what one window may cost
    # is bounded), logs nothing, and the next window works.
    browser = RemoteClient(live_server.url)
    chat_id = start_chat(browser)
    with SocketWindow(live_server.url, browser) as user:
        user.join(chat_id, "user")
        # emit() returns once the server answered the packet, or closed the connection instead.
        user.emit("message", {"text": "x" * 100_000})
        assert user.closed.is_set(), (
            "A 100,000-character packet (over 64 kB) should make the server close that connection unread, "
            f"but the server read it and answered: {user.received()}")
    with SocketWindow(live_server.url, browser) as again:
        again.join(chat_id, "user")
        again.send("after the big packet")
        assert again.expect("message", "after a new window joined")["text"] == "after the big packet", (
            "After one connection was closed for its packet, a new window should still chat")
    lines = session_log(log_dir, chat_id).read_text(encoding="utf-8").splitlines()
    assert [parse_log_line(line)[2] for line in lines] == ["after the big packet"], (
        "Only the message of the new window should be in the log")


def too_many(response, what):
    assert response.status_code == 429 and "<nav" in response.text and "Too many" in response.text, (
        f"{what} should get 429 Too Many Requests on the site's error page saying there were too many tries; "
        f"got {response.status_code}")


def test_one_address_starts_ten_chats_a_minute_even_dropping_its_cookie(app, client, live_server):
    """Keep the count on the server per client address (Flask-Limiter's @limiter.limit on the route), not in the
    session cookie, which a script simply drops."""
    # The 11th chat started within a minute from one address gets 429 on the site's error page, even from a
    # browser that dropped its cookie; another address still starts chats.
    ids = [start_chat(client) for _ in range(10)]
    assert len(set(ids)) == 10, "10 chats in a minute from one address should all start"
    too_many(client.post_form("/user"), "The 11th chat started within a minute")
    no_cookie = app.test_client()  # the same address, a fresh browser (or one that dropped its cookie)
    too_many(no_cookie.post_form("/user"), "A 12th chat from the same address, from a browser without the cookie,")
    assert start_chat(RemoteClient(live_server.url, address="127.0.0.2")), "Another address should still start chats"


def test_one_address_gets_five_sign_in_tries_a_minute(app, live_server):
    """@limiter.limit("5 per minute", methods=["POST"]) on the sign-in route."""
    # The 6th sign-in within a minute from one address gets 429, the right password too; another address still
    # signs in.
    for _ in range(5):
        response = sign_in(app.test_client(), ATTENDANT_NAME, "guess")  # a fresh browser: the limit is the address's
        assert response.status_code == 200, f"A wrong password should get the form again; got {response.status_code}"
    too_many(sign_in(app.test_client()), "The 6th sign-in try within a minute from one address")
    assert signed_in(RemoteClient(live_server.url, address="127.0.0.2")), "Another address should still sign in"


def test_a_chat_starts_after_the_log_folder_was_deleted(client, log_dir):
    """Look at chat_sessions.start: the log folder may be gone by the time a chat starts."""
    shutil.rmtree(log_dir)
    chat_id = start_chat(client)
    assert session_log(log_dir, chat_id).is_file(), "Starting a chat should recreate the deleted log folder"


def test_a_log_folder_that_cannot_be_written_gives_a_clear_page(client, log_dir):
    """Look at what the start view does when the session's log cannot be created (OSError): a page that says the
    chat could not be started, with 503."""
    shutil.rmtree(log_dir)
    log_dir.write_text("a file where the log folder should be")
    response = client.post_form("/user")
    assert response.status_code == 503 and "could not be started" in response.text, (
        f"When no log can be written, starting a chat should say so (503), not crash (got {response.status_code})"
    )
