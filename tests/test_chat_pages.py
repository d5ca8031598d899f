"""The chat pages of stages 5 and 6: the same form, the same limits, the same log line format, and
the same faults; what differs is the file a message goes to (support/chat_pages.py: chat_log)."""
import json
import re
import shutil

import pytest
from markupsafe import escape

from stages import parse_log_line
from support.chat_pages import disk  # noqa: F401 (a fixture)
from support.chat_pages import (LIMIT, NOT_WRITTEN_BY_THE_APP, ROLES, TRICKY, UNFINISHED_LAST_LINE, UNKNOWN_ROLE_PATHS,
                                chat_log, read_log, send, send_from_many_clients_at_once)
from support.remote import RemoteClient, csrf_token

CLIENTS, MESSAGES_EACH = 50, 5  # all fifty in flight at once, five times over


@pytest.fixture
def user_log(stage, log_dir):
    """The file the user's messages go to."""
    return chat_log(stage, log_dir, "user")


@pytest.fixture
def attendant_log(stage, log_dir):
    """The file the attendant's messages go to."""
    return chat_log(stage, log_dir, "attendant")


@pytest.mark.stages(5, 6)
def test_home_page_links_to_both_clients(client):
    """The home page links /user and /attendant with url_for('main.chat', role=...)."""
    response = client.get("/")
    assert response.status_code == 200, f"GET / should answer 200, but answered {response.status_code}"
    assert 'href="/user"' in response.text, "The home page should link to the user's client at /user"
    assert 'href="/attendant"' in response.text, "The home page should link to the attendant's client at /attendant"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.stages(5, 6)
def test_each_client_shows_a_message_form_in_the_shared_layout(client, role):
    """One chat.html extending base.html, with the form's fields and {{ form.hidden_tag() }}."""
    response = client.get(f"/{role}")
    assert response.status_code == 200, f"GET /{role} should answer 200, but answered {response.status_code}"
    page = response.text
    assert "<form" in page and 'name="text"' in page, f"/{role} should show a form with a text field named 'text'"
    csrf_token(page)
    assert "<nav" in page and "/static/style.css" in page, f"/{role} should use the layout (nav and style.css)"
    with client.get("/static/style.css") as stylesheet:
        assert stylesheet.status_code == 200, "The stylesheet should be served from app/static"


@pytest.mark.parametrize("path", UNKNOWN_ROLE_PATHS)
@pytest.mark.stages(5, 6)
def test_an_unknown_role_is_not_found(client, path):
    """Let the route accept only the two roles: /<any(user, attendant):role>."""
    response = client.get(path)
    assert response.status_code == 404, f"GET {path} should be 404 Not Found, but answered {response.status_code}"
    assert "<nav" in response.text, (
        f"GET {path} should show the 404 page in the site's layout: @bp.app_errorhandler(404) in routes.py "
        "(bp.errorhandler only sees the Blueprint's own routes, and this URL matches none)")


@pytest.mark.stages(5, 6)
def test_after_the_redirect_the_page_shows_the_message_and_a_flash(client):
    """Look at what the chat view does after a good message (flash, then redirect) and at the page it redirects
    to: it lists the log and base.html shows get_flashed_messages()."""
    response = send(client, "attendant", "How can I help?", follow_redirects=True)
    assert response.status_code == 200, f"The page after sending should answer 200, got {response.status_code}"
    assert "How can I help?" in response.text, "The attendant's page should show the message just sent"
    assert 'class="flash"' in response.text, "A flashed message should confirm that the message was sent"


@pytest.mark.stages(5, 6)
def test_a_message_over_the_limit_shows_an_error_naming_the_limit_and_writes_nothing(client, user_log):
    """Length(max=500) on the text field: its error names the limit."""
    response = send(client, "user", "x" * (LIMIT + 1))
    assert response.status_code == 200, f"A too-long message should show the form again, got {response.status_code}"
    assert str(LIMIT) in response.text and 'class="error"' in response.text, (
        f"The error should say the limit: {LIMIT} characters"
    )
    assert read_log(user_log) == [], f"A too-long message should write nothing to {user_log.name}"


@pytest.mark.stages(5, 6)
def test_a_message_of_exactly_500_characters_is_sent(client, user_log):
    """Look at the text field's Length validator: 500 characters are still allowed."""
    send(client, "user", "é" * LIMIT)
    assert read_log(user_log) == [("user", "é" * LIMIT)], f"{LIMIT} characters is within the limit: {user_log.name} should hold them"


@pytest.mark.stages(5, 6)
def test_a_post_without_the_csrf_token_writes_nothing(client, user_log):
    """Look at the order in the chat view: only a form that validate_on_submit() accepts (its CSRF token
    included) reaches the log."""
    response = client.post("/user", data={"text": "sent by another site"})
    assert response.status_code in (200, 400), f"A post without the CSRF token should be refused, got {response.status_code}"
    assert read_log(user_log) == [], f"A post without the CSRF token should write nothing to {user_log.name}"


@pytest.mark.stages(5, 6)
def test_odd_requests_get_an_answer_not_a_server_error(client, user_log):
    """Look at what the chat view takes from the request: only the validated form's text, never
    request.form[...] or request.json."""
    token = csrf_token(client.get("/user").text)
    odd = [
        client.post("/user", data={"csrf_token": token}),  # no text field at all
        client.post("/user", data={"csrf_token": token, "text": ["one", "two"]}),
        client.post("/user", data=b"csrf_token=" + token.encode() + b"&text=%FF%FE",
                    content_type="application/x-www-form-urlencoded"),
        client.post("/user", json={"csrf_token": token, "text": "json"}),
        client.put("/user"),
    ]
    for response in odd:
        assert response.status_code < 500, f"An odd request should never crash the app (got {response.status_code})"
    for role, text in read_log(user_log):
        assert role == "user" and isinstance(text, str), (
            f"Whatever was written to {user_log.name} must still be a well-formed 'user' line"
        )


@pytest.mark.stages(5, 6)
def test_messages_are_shown_as_text_not_run_as_html(client):
    """Show messages with {{ message.text }} (escaped), never |safe."""
    response = send(client, "user", "<script>alert(1)</script>", follow_redirects=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text, "The message should be shown literally"
    assert "<script>alert(1)</script>" not in response.text, "A message must never become HTML on the page"


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.stages(5, 6)
def test_a_message_cannot_forge_a_log_line(client, user_log, text):
    """Write the text with json.dumps(text): quotes, newlines and every non-ASCII character become escapes, so
    one message is one line."""
    send(client, "user", text)
    assert read_log(user_log) == [("user", text)], (
        f"{text!r} should be stored in {user_log.name} as exactly one 'user' line that reads back as the same text"
    )
    assert str(escape(text)) in client.get("/user").text, f"The page should show {text!r} exactly as it was sent"


@pytest.mark.stages(5, 6)
def test_each_message_shows_its_time_as_a_person_reads_it(client, user_log):
    """Keep the ISO time in <time datetime="...">, and show it as a person reads it, e.g. 2026-12-04 17:00."""
    send(client, "user", "What time is it?")
    logged, _role, _text = parse_log_line(user_log.read_bytes().decode("utf-8").splitlines()[-1])
    shown = re.search(rf'<time datetime="{logged}">([^<]*)</time>', client.get("/user").text)
    assert shown, (
        f'The message logged at {logged} should be shown in <time datetime="{logged}">...</time>: the log\'s '
        "ISO time stays in datetime, for programs (and the tests)")
    expected = f"{logged[:10]} {logged[11:16]}"
    assert logged[11:16] in shown[1] and not re.search(r"\dT\d", shown[1]), (
        f"The time of a message is shown as {shown[1].strip()!r}, not as a person reads it: show e.g. {expected} "
        f'({{{{ message.time[:16]|replace("T", " ") }}}}) and keep {logged} in datetime="..."')


@pytest.mark.stages(5, 6)
def test_the_log_reads_back_every_message_in_order(client, attendant_log):
    """Look at chat_log.read: each line is '<time> <role> <JSON string>', and the string goes through
    json.loads."""
    for text in TRICKY:
        send(client, "attendant", text)
    assert read_log(attendant_log) == [("attendant", t) for t in TRICKY], (
        f"Reading {attendant_log.name} back should give exactly the messages sent, in order"
    )
    page = client.get("/attendant").text
    positions = [page.find(str(escape(text))) for text in TRICKY]
    assert -1 not in positions and positions == sorted(positions), "The page should list every message, oldest first"


@pytest.mark.stages(5, 6)
def test_a_log_with_lines_the_app_never_wrote_still_shows_the_others(client, user_log):
    """Look at chat_log.read: a line that is not exactly what append() writes is skipped, never a crash."""
    good = [("user", "written before"), ("attendant", "written after")]
    user_log.write_bytes(
        f'2026-01-01T00:00:00 user {json.dumps(good[0][1])}\n'.encode()
        + b"".join(NOT_WRITTEN_BY_THE_APP)
        + f'2026-01-01T00:00:01 attendant {json.dumps(good[1][1])}\n'.encode()
        + UNFINISHED_LAST_LINE
    )
    response = client.get("/user")
    assert response.status_code == 200, (
        f"{user_log.name} holds lines the app never wrote (not UTF-8, half a character, JSON nested 100,000 deep, "
        f"not a string...): the page should skip them and answer 200, but answered {response.status_code}"
    )
    shown = re.findall(r'<li class="(?:user|attendant)"', response.text)
    assert len(shown) == len(good) and all(text in response.text for _, text in good), (
        f"The page should show exactly the {len(good)} lines the app wrote, and skip every other line "
        f"(including an unfinished last line), but it shows {len(shown)} messages"
    )


@pytest.mark.stages(5, 6)
def test_sending_after_the_log_folder_was_deleted_recreates_it(client, user_log):
    """Look at chat_log.append: the log folder may be gone by the time a message arrives."""
    send(client, "user", "first")
    shutil.rmtree(user_log.parent)
    response = send(client, "user", "after the folder was deleted")
    assert response.status_code == 302, (
        f"The log folder was deleted while the app ran: sending should recreate it and succeed, "
        f"but answered {response.status_code}"
    )
    assert read_log(user_log) == [("user", "after the folder was deleted")], f"{user_log.name} should be recreated"


@pytest.mark.stages(5, 6)
def test_a_log_folder_that_cannot_be_written_gives_a_clear_error(client, user_log):
    """Look at what the chat view does when chat_log.append raises OSError."""
    shutil.rmtree(user_log.parent)
    user_log.parent.write_text("a file where the log folder should be")  # no folder can be made there
    page = client.get("/user")
    assert page.status_code == 200, f"With no log folder the page should still answer, got {page.status_code}"
    response = send(client, "user", "nowhere to write this")
    assert response.status_code != 500 and "could not be saved" in response.text, (
        "When the log cannot be written, the sender should see the page again with an error that says "
        f"the message could not be saved, never a server error (got {response.status_code})"
    )
    assert "nowhere to write this" in response.text, "The typed message should stay in the box, to send again"


# --- A real server, many clients at once -------------------------------------------------------------

@pytest.mark.stages(5, 6)
def test_fifty_clients_sending_at_once_leave_exactly_one_line_per_message(live_server, stage, log_dir):
    """Look at chat_log.append: one message must reach the file as one whole line, however many requests write
    at once."""
    sent = send_from_many_clients_at_once(live_server.url, CLIENTS, MESSAGES_EACH)
    total = 0
    for log in sorted({chat_log(stage, log_dir, role) for role in ROLES}):
        stored = read_log(log)
        total += len(stored)
        writers = [role for role in ROLES if chat_log(stage, log_dir, role) == log]
        expected = sorted((role, text) for role in writers for text in sent[role])
        assert sorted(stored) == expected, (
            f"{log.name} should hold exactly the {len(expected)} messages its clients sent, each on one intact line"
        )
    assert total == CLIENTS * MESSAGES_EACH, (
        f"{CLIENTS} clients x {MESSAGES_EACH} messages should leave {CLIENTS * MESSAGES_EACH} lines, found {total}"
    )


@pytest.mark.stages(5, 6)
def test_a_full_disk_never_corrupts_the_log(disk, live_server, user_log):  # noqa: F811 (a fixture)
    """Look at chat_log.append when the disk fills up: what becomes of a line written in part, and what the chat
    view tells the sender."""
    # On a 64 kB tmpfs where the machine lets the tests mount one, and with an injected full disk (the server's
    # file size limit) everywhere.
    disk.server, role, log = live_server, "user", user_log
    browser = RemoteClient(live_server.url)
    token = csrf_token(browser.get(f"/{role}").text)
    # Enough to bring the log near a tmpfs page's end, so the next line is cut by the full disk.
    before = [f"message {n} {'x' * 480}" for n in range(7)]
    for text in before:
        assert browser.post(f"/{role}", data={"csrf_token": token, "text": text}).status_code == 302, "A message should be sent"
    logged = log.read_bytes()

    disk.fill(log)
    for attempt in range(2):
        response = browser.post(f"/{role}", data={"csrf_token": token, "text": f"disk full {attempt} " + "y" * 480})
        status, page = response.status_code, response.text
        assert status != 500 and "could not be saved" in page, (
            f"With the disk full, the sender should get the page again saying the message could not be saved, "
            f"never a server error (got {status})"
        )
        assert log.read_bytes() == logged, (
            f"A write that hit the full disk must leave {log.name} exactly as it was: no half line, nothing lost"
        )
    assert browser.get(f"/{role}").text.count("message ") >= len(before), "The page should still show the conversation"

    disk.free()
    assert browser.post(f"/{role}", data={"csrf_token": token, "text": "room again"}).status_code == 302, (
        "Once the disk has room again, sending should work again"
    )
    assert read_log(log) == [(role, text) for text in before + ["room again"]], (
        f"After the disk had room again, {log.name} should hold every message sent, each on its own whole line"
    )
