"""Stage 7: a realtime chat, one Socket.IO room per chat session.

Each chat window is a ``support.sockets`` window: a real Socket.IO client of the
app's server, over WebSocket, as the browser's windows are. Absence ("the other session hears nothing") is proven with a
barrier the server provides (an answer to a request sent after), never a sleep.
"""
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import socketio
from dotenv import dotenv_values
from werkzeug.security import check_password_hash

from grading.sandbox import app_sandbox
from stages import parse_log_line
from support import hostile
from support.remote import base_env
from support.remote import RemoteClient, csrf_token
from support.sockets import (ATTENDANT_NAME, ATTENDANT_PASSWORD, WAIT, SocketWindow, close_windows, connect_windows,
                             converse, disconnect_windows, hears_nothing_else, served, sign_in, signed_in,
                             start_chat, window)

STAGE = 7

SERVER_SPEAKS = (3, 4)  # socket.io-client majors that python-socketio 5 understands
FETCH_HINT = ("Fetch it with `make stage 7` (npm pack socket.io-client@4.8), or by hand: see "
              "'Without npm' in 07_realtime/README.md.")


# ---------------------------------------------------------------- helpers

@pytest.fixture(autouse=True)
def windows_closed():
    """The real windows a test opened are closed after it."""
    yield
    close_windows()


def names(events):
    return [name for name, _ in events]


def payloads(events, event):
    return [payload for name, payload in events if name == event]


def user_in_a_new_session(app, client):
    """Start a session and open the user's window on it, joined; return (session ID, window)."""
    chat_id = start_chat(client)
    user = window(app, client)
    user.join(chat_id, "user")
    return chat_id, user


def both_in_a_new_session(app, client):
    """Start a session and open the user's and the attendant's windows on it, joined in that order;
    return (session ID, user's window, attendant's window)."""
    chat_id, user = user_in_a_new_session(app, client)
    attendant = window(app, signed_in(app.test_client()))
    attendant.join(chat_id, "attendant")
    return chat_id, user, attendant


def messages_until_answered(receiver):
    """The messages ``receiver`` got before the server answered a request it sends now. A message
    another window sent (and the server handled) before that is among them: each one it got, once."""
    return payloads(receiver.barrier(), "message")


def still_chatting(sender, receiver, why):
    """After something went wrong, a good message from `sender` still reaches `receiver`."""
    sender.send("still here")
    got = messages_until_answered(receiver)
    assert [m["text"] for m in got] == ["still here"], why


def log_lines(log_dir, chat_id):
    path = log_dir / f"chat_{chat_id}.log"
    assert path.is_file(), f"Session {chat_id} should have its log file {path.name} in the log folder"
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def logged_messages(log_dir, chat_id):
    """Read a session's log back as (role, text) pairs, checking every line's shape."""
    messages = []
    for line in log_lines(log_dir, chat_id):
        try:
            assert line.endswith("\n")
            _time, role, text = parse_log_line(line[:-1])
        except (AssertionError, ValueError):
            raise AssertionError(f"Each log line should be '<time> <role> <JSON text>'; got {line!r}") from None
        messages.append((role, text))
    return messages


# ---------------------------------------------------------------- pages

def test_home_page_opens_each_client_in_its_own_window(client):
    """Look at the home page's two links: target="user" and target="attendant" open each in its own window."""
    page = client.get("/").text
    for role in ("user", "attendant"):
        assert re.search(rf'<a [^>]*href="/{role}"[^>]*target="{role}"', page), (
            f'The home page should link to /{role} with target="{role}", so it opens in its own window'
        )


def test_start_a_chat_creates_its_log_and_opens_its_page(client, log_dir):
    """POST /user creates chat_<ID>.log (ID = start time, YYYYMMDD-hhmmss) and redirects to /user/<ID>."""
    chat_id = start_chat(client)
    assert (log_dir / f"chat_{chat_id}.log").is_file(), (
        f"Starting session {chat_id} should create chat_{chat_id}.log in the log folder"
    )
    page = client.get(f"/user/{chat_id}").text
    main = re.search(r"<main [^>]*>", page)
    assert main and 'id="chat"' in main.group(0), 'The chat page should have <main id="chat" ...>'
    assert f'data-chat-id="{chat_id}"' in main.group(0) and 'data-role="user"' in main.group(0), (
        "The chat page's <main> should carry data-chat-id and data-role for chat.js"
    )
    for needle, what in [('<ul id="messages">', 'a <ul id="messages"> for the messages'),
                         ('<form id="message-form"', 'a <form id="message-form">'),
                         ('id="text"', 'an <input id="text">'),
                         ('maxlength="500"', "a 500-character limit on the input"),
                         ("/static/vendor/socket.io.min.js", "the Socket.IO client served by the app"),
                         ("/static/chat.js", "its script, static/chat.js")]:
        assert needle in page, f"The chat page should have {what}"
    assert re.search(r'<input [^>]*type="submit"[^>]*value="Send"|<button[^>]*>\s*Send\s*</button>', page), (
        'The chat page should have a "Send" button (<input type="submit" value="Send">)')


def test_start_without_csrf_token_is_refused_and_creates_nothing(client, log_dir):
    """Look at the start view: only a form that validate_on_submit() accepts (its CSRF token included) creates a
    session log."""
    response = client.post("/user", data={})
    assert response.status_code != 302, "A POST without the CSRF token must not start a chat"
    assert not list(log_dir.glob("chat_*.log")), "A refused POST should create no session log"


def test_error_pages_are_pages_of_the_site(client):
    """Look at the Blueprint's error handlers: @bp.app_errorhandler covers every URL of the app, and each page
    extends base.html."""
    # An unknown address and a refused form get the site's own 404 and 400 pages, not bare defaults.
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "<nav" in response.text, (
        "An unknown address should get the 404 page in the site's layout (404.html extends base.html), "
        f"answered {response.status_code}: @bp.app_errorhandler(404) covers every URL, not only the Blueprint's")
    response = client.post("/user", data={})
    assert response.status_code == 400 and "<nav" in response.text and "CSRF token" in response.text, (
        "A POST without the CSRF token should get the 400 page of the site with Flask-WTF's reason, "
        f"answered {response.status_code}: @bp.app_errorhandler(CSRFError) renders 400.html with error.description")


def test_two_sessions_in_the_same_second_get_distinct_ids_and_files(client, log_dir):
    """Create the log with open(path, 'x'); if it exists, try <ID>-2, <ID>-3 ..."""
    for _attempt in range(5):  # two requests take milliseconds; retry if a second ticked between
        first, second = start_chat(client), start_chat(client)
        if first[:15] == second[:15]:
            break
    started, number = first[:15], int(first[16:] or 1)
    expected = f"{started}-{number + 1}"  # 20261123-154247 -> 20261123-154247-2 -> ...-3
    assert second == expected, (
        f"A session started in the same second as {first} should get {expected}, not {second}"
    )
    for chat_id in (first, second):
        assert (log_dir / f"chat_{chat_id}.log").is_file(), f"Session {chat_id} should have its own log"


def test_sessions_started_at_once_in_many_threads_get_distinct_ids(app, log_dir):
    """Only open(path, 'x') decides who gets an ID: checking os.path.exists first is a race."""
    clients = [app.test_client() for _ in range(10)]  # one address may start 10 chats a minute
    tokens = [csrf_token(c.get("/user").text) for c in clients]
    start_line = threading.Barrier(len(clients))
    locations = []

    def press_start(c, token):
        start_line.wait()
        locations.append(c.post("/user", data={"csrf_token": token}).location)

    threads = [threading.Thread(target=press_start, args=pair) for pair in zip(clients, tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(set(locations)) == len(clients), (
        f"{len(clients)} sessions started at once should get {len(clients)} distinct IDs; got {sorted(locations)}"
    )
    assert len(list(log_dir.glob("chat_*.log"))) == len(clients), "Each session should have its own log file"


@pytest.mark.parametrize("path", [
    "/user/20260101-000000",              # the right shape, but never started
    "/attendant/20260101-000000",
    "/user/not-a-session",
    "/user/20260101-000000%0A",           # a trailing newline
    "/user/20260101-0000000",
    "/user/%2E%2E%2Fchat_x",
    "/manager/{id}",                      # no such role
    "/{id}",
])
def test_chat_pages_are_not_found_for_unknown_sessions_and_roles(client, path):
    """Accept an ID only when it matches the strict pattern AND its log file exists; route roles with any(user,
    attendant)."""
    path = path.format(id=start_chat(client))
    response = client.get(path)
    assert response.status_code == 404, f"GET {path} should be 404 Not Found, but answered {response.status_code}"


# ---------------------------------------------------------------- who may see what

def test_a_stranger_cannot_list_the_sessions(app, client):
    """Look at the /attendant view: it asks access.is_attendant() first and sends anyone else to the sign-in
    page."""
    chat_id = start_chat(client)
    stranger = app.test_client()
    response = stranger.get("/attendant")
    assert chat_id not in response.text, "Someone who has not signed in must not see the list of sessions"
    assert response.status_code == 302 and response.location == "/signin", (
        f"/attendant should send someone who has not signed in to /signin; got {response.status_code}")


@pytest.mark.parametrize("who", ["stranger", "other user"])
def test_a_chat_that_exists_is_not_found_by_another_browser_exactly_like_one_that_does_not(app, client, who):
    """Look at the chat page's view: a session this browser has no role in gets the very same abort(404) as one
    that does not exist."""
    chat_id = start_chat(client)
    stranger = app.test_client()
    if who == "other user":
        start_chat(stranger)  # a user of another chat is a stranger to this one
    unknown = stranger.get("/user/20200101-000000")
    for path in (f"/user/{chat_id}", f"/attendant/{chat_id}"):
        response = stranger.get(path)
        assert response.status_code == 404 and response.data == unknown.data, (
            f"GET {path} from another browser should be the same 404 as for a session that does not "
            f"exist (a guesser must not tell them apart); got {response.status_code}")


def test_a_stranger_cannot_join_or_write_even_forging_a_role(app, client, log_dir):
    """Look at the join handler: the roles come from access.roles_in(chat_id), what the server knows of this
    browser, never from the payload."""
    chat_id, user = user_in_a_new_session(app, client)
    unknown_error = None
    for payload in ({"chat_id": "20200101-000000"}, {"chat_id": chat_id},
                    {"chat_id": chat_id, "role": "user"}, {"chat_id": chat_id, "role": "attendant"}):
        stranger = window(app)
        stranger.emit("join", payload)
        received = stranger.received()
        assert names(received) == ["chat_error"], (
            f"join {payload} from a browser that neither started the chat nor signed in should get only a "
            f"chat_error (no history); got {received}")
        unknown_error = unknown_error or received[0][1]
        assert received[0][1] == unknown_error, (
            "A forbidden session should get the same refusal as one that does not exist")
        stranger.emit("message", {"text": "I am the attendant, give me your password"})
        assert names(stranger.received()) == ["chat_error"], "A window that was refused must not be able to write"
    assert user.barrier() == [], "The user's window should hear nothing of the stranger"
    assert logged_messages(log_dir, chat_id) == [], "Nothing the stranger sent may be logged"


def test_the_role_comes_from_the_server_not_from_the_join(app, client, log_dir):
    """Look at the join handler: the role the page asks for counts only when it is one of
    access.roles_in(chat_id)."""
    chat_id = start_chat(client)
    user = window(app, client)
    user.emit("join", {"chat_id": chat_id, "role": "attendant"})
    history = user.received("history")
    assert history and history[0]["role"] == "user", (
        "The browser that started the chat is its user, whatever role its join asks for")
    user.send("who am I?")
    assert logged_messages(log_dir, chat_id) == [("user", "who am I?")], "Its messages are logged as the user's"
    assert client.get(f"/attendant/{chat_id}").status_code == 404, (
        "The browser that started the chat, never signed in, is not its attendant: /attendant/<id> is 404 for it")


def test_the_attendant_signs_in_only_with_the_right_name_and_password(app):
    """Look at access.check_attendant and the sign-in view: both the name and the password's hash must match,
    and the form keeps its CSRF token."""
    for name, password in [(ATTENDANT_NAME, "wrong"), ("someone", ATTENDANT_PASSWORD), ("", "")]:
        browser = app.test_client()
        response = sign_in(browser, name, password)
        assert response.status_code == 200 and 'class="error"' in response.text, (
            f"Signing in as {name!r} with a wrong password should show the form again with an error; "
            f"got {response.status_code}")
        assert browser.get("/attendant").status_code == 302, "A failed sign-in must not let anyone in"
    browser = app.test_client()
    response = browser.post("/signin", data={"name": ATTENDANT_NAME, "password": ATTENDANT_PASSWORD})
    assert response.status_code == 400, "A sign-in without its CSRF token should be refused (400)"
    assert signed_in(app.test_client()).get("/attendant").status_code == 200, "The right name and password let in"


def test_a_browser_that_started_a_chat_and_signed_in_may_open_it_as_either_role(app, client, log_dir):
    """access.roles_in() gives every role this browser has in the chat; join takes the role the page asks for
    only if it is one of them."""
    # One browser may play both sides: the chat it started, as the user, and, once its attendant signed in, as
    # the attendant. The page asks for its role; the server grants the roles the browser has.
    chat_id = start_chat(client)
    signed_in(client)  # the same browser signs in
    for role in ("attendant", "user"):
        response = client.get(f"/{role}/{chat_id}")
        assert response.status_code == 200 and f'data-role="{role}"' in response.text, (
            f"The browser that started chat {chat_id} and signed in should open /{role}/{chat_id} as the "
            f"{role}; got {response.status_code}")
    as_attendant, as_user = window(app, client), window(app, client)
    as_attendant.join(chat_id, "attendant")
    as_user.join(chat_id, "user")
    as_attendant.send("Hello, the attendant here")
    as_user.send("And the user")
    assert logged_messages(log_dir, chat_id) == [("attendant", "Hello, the attendant here"), ("user", "And the user")], (
        "Each window's messages should be logged in the role it joined as")


def test_sign_in_with_no_attendant_set_up_says_how_to_set_one_up(start_app, stage_env, stage_folder, tmp_path):
    """Look at the sign-in page when FLASK_ATTENDANT_PASSWORD_HASH is not set: it names make attendant and flask
    --app app attendant."""
    # A copy without the stage's own .env, which may well set up an attendant.
    no_attendant = {name: value for name, value in stage_env.items() if name != "FLASK_ATTENDANT_PASSWORD_HASH"}
    started = start_app(env=no_attendant, folder=hostile.stage_copy(stage_folder, tmp_path))
    assert started.error is None, f"With no FLASK_ATTENDANT_PASSWORD_HASH the app should still start: {started.error}"
    response = started.client().get("/signin")
    for command in ("make attendant", "flask --app app attendant"):
        assert response.status_code == 200 and command in response.text, (
            f"With no FLASK_ATTENDANT_PASSWORD_HASH, the sign-in page should say how to set one up: {command!r} "
            f"is not on it (answered {response.status_code})")
    response = started.client().post("/signin", data={"name": ATTENDANT_NAME, "password": "anything"})
    assert response.status_code in (200, 400), "Posting to it must not crash"


def test_flask_attendant_writes_the_name_and_the_password_hash_to_the_stages_dotenv(
        request, start_app, stage_env, stage_folder, tmp_path, tmp_path_factory, log_dir):
    """The click command sets FLASK_ATTENDANT_NAME and FLASK_ATTENDANT_PASSWORD_HASH (from
    generate_password_hash) with dotenv.set_key, in the .env next to the app package."""
    # `flask --app app attendant`, run in a copy of the stage, asks for the name and the password (twice) and
    # writes the name and the password's hash, never the password, to the copy's .env; a server started from
    # that copy then signs that attendant in.
    copy = hostile.stage_copy(stage_folder, tmp_path)
    name, password = "Robin Attendant", "a new password, typed twice"
    # The venv's flask, as a student runs it in the stage's folder: --app names the copy's app package.
    command = [str(Path(sys.executable).with_name("flask")), "--app", str(copy / "app"), "attendant"]
    if getattr(request.config, "app_host_mode", "plain") == "sandbox":  # the student's code, as the app host runs it
        command = app_sandbox(command, hide=[tmp_path_factory.getbasetemp().parent], writable=[copy], env=base_env())
    # A session of its own: no terminal to ask, so the password is read from the input, as the name is.
    done = subprocess.run(command, cwd=copy, env=base_env(), input=f"{name}\n{password}\n{password}\n",
                          capture_output=True, text=True, timeout=60, start_new_session=True)
    said = f"It said:\n{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, f"`flask --app app attendant` should set up the attendant and exit 0, not {done.returncode}. {said}"
    dotenv = copy / ".env"
    assert dotenv.is_file(), f"`flask --app app attendant` should write the stage folder's .env. {said}"
    settings = dotenv_values(dotenv)
    assert settings.get("FLASK_ATTENDANT_NAME") == name, (
        f".env should hold FLASK_ATTENDANT_NAME={name!r}; it holds {sorted(settings)}")
    stored = settings.get("FLASK_ATTENDANT_PASSWORD_HASH") or ""
    assert password not in dotenv.read_text(encoding="utf-8") and password not in done.stdout + done.stderr, (
        "The password itself must never be written to .env or printed: only its hash")
    assert check_password_hash(stored, password), (
        f"FLASK_ATTENDANT_PASSWORD_HASH should be the password's hash (generate_password_hash); it is {stored[:30]!r}")
    started = start_app(env={"FLASK_SECRET_KEY": stage_env["FLASK_SECRET_KEY"], "FLASK_LOG_DIR": str(log_dir)},
                        folder=copy)
    assert started.error is None, f"The copy with the new .env should start: {started.error}"
    browser = started.client()
    sign_in(browser, name, password)
    assert browser.get("/attendant").status_code == 200, (
        "Signed in with the name and password given to `flask --app app attendant`, the list should open")


def test_signing_out_ends_the_sign_in_for_every_copy_of_the_cookie_and_every_open_window(app, client, log_dir):
    """The sign-in is recorded on the server (a token in the log folder, the cookie holds the same token);
    signing out removes the record, and every page and event compares the two."""
    # After signing out, a saved copy of the attendant's cookie opens no chat and gets no list, even once the
    # attendant has signed in again elsewhere, and a window opened before can no longer send.
    chat_id, user = user_in_a_new_session(app, client)
    desk = signed_in(app.test_client())
    saved = app.test_client()
    for cookie_name, value in hostile.cookies(desk).items():
        saved.set_cookie(cookie_name, value)  # a copy of the cookie, taken while signed in
    still_open = window(app, desk)
    still_open.join(chat_id, "attendant")
    list_page = window(app, desk)
    list_page.emit("watch")
    list_page.received()
    token = csrf_token(desk.get("/attendant").text)
    desk.post("/signout", data={"csrf_token": token})
    start_chat(client)  # a new chat, after the sign-out
    assert payloads(list_page.barrier(), "session") == [], (
        "The attendant's list page opened before signing out should hear of no chat started after it: "
        "signing out should take every list page out of the desk room (socketio.close_room)")

    def copy_gets_nothing(when):
        response = saved.get(f"/attendant/{chat_id}")
        assert response.status_code == 404, (
            f"{when}, a saved copy of the attendant's cookie should open no chat (404); got {response.status_code}")
        response = saved.get("/attendant")
        assert response.status_code == 302 and chat_id not in response.text, (
            f"{when}, a saved copy of the attendant's cookie should be sent to sign in, not get the list")
        sock = window(app, saved)
        sock.emit("join", {"chat_id": chat_id, "role": "attendant"})
        sock.emit("watch")
        assert names(sock.received()) == ["chat_error", "chat_error"], (
            f"{when}, a window with a saved copy of the cookie should neither join nor watch the list")
        still_open.send(f"{when}: still the attendant?")
        assert names(still_open.received()) == ["chat_error"], (
            f"{when}, the attendant's window opened before signing out should no longer be able to send")

    copy_gets_nothing("After signing out")
    signed_in(app.test_client())  # the attendant signs in again, in another browser
    copy_gets_nothing("With the attendant signed in again elsewhere")
    assert user.barrier() == [], "The user should hear nothing from the signed-out windows"
    assert logged_messages(log_dir, chat_id) == [], "Nothing a signed-out window sent may be logged"


def test_the_attendants_list_is_live_and_gives_every_session_newest_first(app, client):
    """watch joins the desk room and answers with every session, the newest first; starting a chat emits session
    to the desk room."""
    desk_browser = signed_in(app.test_client())
    desk = window(app, desk_browser)
    desk.emit("watch")
    assert desk.received("sessions") == [{"sessions": []}], "watch should answer with the sessions (none yet)"
    first = start_chat(client)
    assert payloads(desk.barrier(), "session") == [{"chat_id": first}], (
        "A new session should reach the attendants' list live: a 'session' event {\"chat_id\": ...}")
    second = start_chat(app.test_client())
    assert payloads(desk.barrier(), "session") == [{"chat_id": second}], "Each new session should reach the list"
    again = window(app, desk_browser)
    again.emit("watch")
    assert again.received("sessions") == [{"sessions": [{"chat_id": second}, {"chat_id": first}]}], (
        "A list page that (re)connects should get every session, the newest first")
    for chat_id in (first, second):
        response = desk_browser.get(f"/attendant/{chat_id}")
        assert response.status_code == 200 and f'data-chat-id="{chat_id}"' in response.text, (
            f"The attendant should open each listed session at /attendant/<ID>; /attendant/{chat_id} answered "
            f"{response.status_code}")


def test_a_stranger_cannot_watch_the_list(app, client):
    """Look at the watch handler: it asks access.is_attendant() before joining the desk room."""
    stranger = window(app)
    stranger.emit("watch")
    assert names(stranger.received()) == ["chat_error"], "watch without signing in is refused"
    start_chat(client)
    assert stranger.barrier() == [], "A stranger must not hear of new sessions"


# ---------------------------------------------------------------- events

def test_join_gets_the_history_then_live_messages(app, client):
    """On join: join_room, read the session's log and emit history to that window, all under one lock."""
    chat_id, user = user_in_a_new_session(app, client)
    user.send("first")
    user.send("second")

    attendant = window(app, signed_in(app.test_client()))
    history = attendant.join(chat_id, "attendant")
    assert history["chat_id"] == chat_id, "The history event should name its session"
    assert [(m["role"], m["text"]) for m in history["messages"]] == [("user", "first"), ("user", "second")], (
        f"A window that joins should get the whole conversation so far; got {history['messages']}"
    )
    assert all(re.fullmatch(r"[0-9-]{10}T[0-9:]{8}", m["time"]) for m in history["messages"]), (
        "Each message in the history should have its time, e.g. 2026-11-23T15:42:47"
    )
    user.send("third")
    live = messages_until_answered(attendant)
    assert [(m["role"], m["text"]) for m in live] == [("user", "third")], (
        f"After the history, the attendant should get new messages live, each once; got {live}"
    )


def test_a_message_reaches_both_roles_of_its_session_and_never_another(app, client):
    """Emit each message to the session's room (to=chat_id), never broadcast to everyone."""
    chat_id, other_id = start_chat(client), start_chat(client)
    desk = signed_in(app.test_client())
    user, attendant, outsider = window(app, client), window(app, desk), window(app, desk)
    user.join(chat_id, "user")
    attendant.join(chat_id, "attendant")
    outsider.join(other_id, "attendant")

    user.send("Hello, I need help")
    attendant.send("Hi! How can I help?")
    expected = [("user", "Hello, I need help"), ("attendant", "Hi! How can I help?")]
    for name, sock in [("user", user), ("attendant", attendant)]:
        got = [(m["role"], m["text"]) for m in messages_until_answered(sock)]
        assert got == expected, f"The {name} window should get both messages of its session in order; got {got}"
    assert outsider.barrier() == [], "A window in another session must receive nothing from this one"


def test_the_users_second_tab_in_the_same_browser_joins_as_the_user(app, client, log_dir):
    """Look at access.roles_in: the browser's session remembers the chats it started, in every tab."""
    chat_id, user, attendant = both_in_a_new_session(app, client)
    second_tab = window(app, client)
    second_tab.join(chat_id, "user")
    second_tab.send("from my other tab")
    assert [m["text"] for m in messages_until_answered(user)] == ["from my other tab"], (
        "A second tab of the browser that started the chat should chat as the user")
    assert logged_messages(log_dir, chat_id) == [("user", "from my other tab")]
    assert client.get(f"/user/{chat_id}").status_code == 200, "The same browser may open its chat page again"


def test_each_message_is_logged_once_and_reads_back_exactly(app, client, log_dir):
    """Append every message to its own session's chat_<ID>.log, in the same format as before."""
    chat_id, user, attendant = both_in_a_new_session(app, client)
    tricky = [
        ("user", 'She said "hi"\nthen left'),
        ("attendant", '2026-01-01T00:00:00 user "I am a forged line"'),
        ("user", "tabs\tand \\backslashes\\ and ünïcödé ✓"),
        ("attendant", "a line\u2028separator and a \r carriage return"),
    ]
    for role, text in tricky:
        (user if role == "user" else attendant).send(text)
    assert logged_messages(log_dir, chat_id) == tricky, (
        "The log should hold each message exactly once, one line each, and read back exactly as sent"
    )


BAD_MESSAGES = [
    pytest.param(None, id="no payload"),
    pytest.param("just a string", id="payload not an object"),
    pytest.param({}, id="missing text"),
    pytest.param({"text": 42}, id="text a number"),
    pytest.param({"text": ["a", "list"]}, id="text a list"),
    pytest.param({"text": None}, id="text null"),
    pytest.param({"text": ""}, id="empty"),
    pytest.param({"text": " \n\t "}, id="only whitespace"),
    pytest.param({"text": "x" * 501}, id="over 500 characters"),
]


@pytest.mark.parametrize("payload", BAD_MESSAGES)
def test_a_bad_message_gets_a_chat_error_and_the_server_goes_on(app, client, log_dir, payload):
    """Look at the message handler: check the payload's shape, the text's type, emptiness and length, and refuse
    with chat_error before logging anything."""
    chat_id, user, attendant = both_in_a_new_session(app, client)
    user.received()
    if payload is None:
        user.emit("message")
    else:
        user.emit("message", payload)
    errors = user.received("chat_error")
    assert len(errors) == 1 and isinstance(errors[0].get("error"), str) and errors[0]["error"], (
        f"A bad message ({payload!r:.60}) should get one chat_error with a sentence saying why; got {errors}"
    )
    if isinstance(payload, dict) and isinstance(payload.get("text"), str) and len(payload["text"]) > 500:
        assert "500" in errors[0]["error"], f"The error should name the limit, 500; got {errors[0]['error']!r}"
    assert attendant.barrier() == [], "A refused message must not reach the other window"
    assert logged_messages(log_dir, chat_id) == [], "A refused message must not be logged"

    still_chatting(user, attendant, "After a bad message, the next good one should go through as usual")


def test_an_event_the_handler_cannot_take_gets_a_chat_error_and_the_server_goes_on(app, client, log_dir):
    """Look for the @socketio.on_error_default handler: an event that fails tells its window with chat_error."""
    _chat_id, user = user_in_a_new_session(app, client)
    user.emit("message", {"text": "one"}, {"text": "two"})  # two arguments instead of one
    errors = user.received("chat_error")
    assert len(errors) == 1, f"An event the server cannot handle should get one chat_error; got {errors}"
    still_chatting(user, user, "After a failed event, the window should still be able to chat")


def test_a_message_with_half_an_emoji_gets_an_error_that_says_so(app, client, log_dir):
    """Look at the message handler: text that cannot be encoded as UTF-8 is refused with a chat_error that names
    the broken character."""
    # JSON can carry a lone surrogate (half of an emoji); no UTF-8 log file can store it.
    chat_id, user = user_in_a_new_session(app, client)
    user.send("half an emoji \ud83d")
    errors = user.received("chat_error")
    assert len(errors) == 1 and "character" in errors[0]["error"], (
        f"A message with a broken character should get a chat_error that says so; got {errors}"
    )
    assert logged_messages(log_dir, chat_id) == [], "A refused message must not be logged"


def test_a_message_exactly_at_the_limit_is_accepted(app, client, log_dir):
    """Look at the message handler's length check: 500 characters are still allowed."""
    chat_id, user = user_in_a_new_session(app, client)
    user.send("x" * 500)
    assert user.received("chat_error") == [], "A message of exactly 500 characters is allowed"
    assert logged_messages(log_dir, chat_id) == [("user", "x" * 500)], "It should be logged"


def test_a_message_before_joining_gets_a_chat_error(app, client, log_dir):
    """Look at the message handler: a window that has not joined a session gets a chat_error telling it to join
    first."""
    chat_id = start_chat(client)
    sock = window(app, client)
    sock.send("hello?")
    errors = sock.received("chat_error")
    assert len(errors) == 1 and "join" in errors[0]["error"].lower(), (
        f"Sending before joining a session should get a chat_error that says to join first; got {errors}"
    )
    assert logged_messages(log_dir, chat_id) == [], "Nothing should be logged"


@pytest.mark.parametrize("payload", [
    pytest.param({"chat_id": "20260101-000000", "role": "user"}, id="never started"),
    pytest.param({"chat_id": "../x", "role": "user"}, id="../x"),
    pytest.param({"chat_id": "20260101-000000/../../etc", "role": "user"}, id="traversal after an ID"),
    pytest.param({"chat_id": "/etc/passwd", "role": "user"}, id="absolute path"),
    pytest.param({"chat_id": "{id}\n", "role": "user"}, id="trailing newline"),
    pytest.param({"chat_id": "{id}/", "role": "user"}, id="trailing slash"),
    pytest.param({"chat_id": "٢٠٢٦٠١٠١-٠٠٠٠٠٠", "role": "user"}, id="non-ASCII digits"),
    pytest.param({"chat_id": 20260101, "role": "user"}, id="ID a number"),
    pytest.param({"chat_id": ["{id}"], "role": "user"}, id="ID a list"),
    pytest.param({"role": "user"}, id="no ID"),
    pytest.param("{id}", id="payload not an object"),
    pytest.param(None, id="no payload"),
])
def test_joining_a_bad_session_gets_a_chat_error(app, client, log_dir, payload):
    """Look at the join handler and chat_sessions.exists: an ID must match the strict pattern and its log must
    exist in the log folder."""
    chat_id = start_chat(client)
    (log_dir.parent / "chat_x.log").write_text("outside the log folder\n", encoding="utf-8")
    payload = json.loads(json.dumps(payload).replace("{id}", chat_id))
    sock = window(app, signed_in(app.test_client()))  # an attendant may join any session, but only a real one
    if payload is None:
        sock.emit("join")
    else:
        sock.emit("join", payload)
    received = sock.received()
    assert names(received) == ["chat_error"], (
        f"join with {payload!r} should get exactly one chat_error (and no history); got {received}"
    )
    sock.send("let me in")
    assert sock.received("chat_error"), "After a refused join, the window is still not in any session"
    assert logged_messages(log_dir, chat_id) == [], "Nothing should be written to any session's log"
    assert (log_dir.parent / "chat_x.log").read_text(encoding="utf-8") == "outside the log folder\n", (
        "No session ID may reach a file outside the log folder"
    )


def test_html_in_a_message_stays_text(app, client):
    """In chat.js build each <li> with textContent or text nodes, never innerHTML."""
    chat_id, user, attendant = both_in_a_new_session(app, client)
    attack = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    user.send(attack)
    assert [m["text"] for m in messages_until_answered(attendant)] == [attack], (
        "The message should travel as the exact text that was sent"
    )
    page = client.get(f"/user/{chat_id}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page, (
        "The chat page's history should show the HTML as text (escaped), never as markup"
    )
    response = client.get("/static/chat.js")
    script = response.get_data(as_text=True)
    response.close()  # a static file's answer holds the file open until closed
    assert response.status_code == 200, "The app should serve its script, static/chat.js"
    assert not re.search(r"\.(inner|outer)HTML\s*\+?=|insertAdjacentHTML|document\.write", script), (
        "chat.js should show messages with textContent / text nodes, never innerHTML"
    )


def test_a_foreign_origin_cannot_open_a_socket(client):
    """Give cors_allowed_origins only the app's own pages (hardening.socketio_settings), never '*'."""
    handshake = "/socket.io/?EIO=4&transport=polling"
    own = client.get(handshake, headers={"Origin": "http://localhost"})
    assert own.status_code == 200, (
        f"A page of the app's own origin should be able to connect; the handshake answered {own.status_code}"
    )
    foreign = client.get(handshake, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 400, (
        "A page from another website must not open a Socket.IO connection (keep cors_allowed_origins "
        f"at its default, never '*'); the handshake answered {foreign.status_code}"
    )


def test_with_no_async_mode_set_socketio_serves_websocket_on_flasks_own_server(live_server):
    """Give SocketIO async_mode='threading' unless the config says otherwise."""
    # FLASK_SOCKETIO_ASYNC_MODE is not set here (nor eventlet or gevent asked for): the app starts on `flask
    # run` with no extra package, and its WebSocket works there (threading mode). An async mode left to
    # Flask-SocketIO's choice would take an installed gevent or eventlet, whose WebSocket Flask's own server
    # cannot serve; one named but not installed stops the app at start.
    with SocketWindow(live_server.url) as plain:
        assert plain.transport == "websocket", (
            "With no FLASK_SOCKETIO_ASYNC_MODE, Socket.IO should run in threading mode and serve WebSocket "
            f"on Flask's own server (name async_mode='threading'); the connection is on {plain.transport}")


def test_the_served_socketio_client_speaks_the_servers_protocol(client):
    """Serve socket.io-client 4.x from app/static/vendor/ (make setup fetches it)."""
    response = client.get("/static/vendor/socket.io.min.js")
    body = response.get_data(as_text=True)
    response.close()
    assert response.status_code == 200, (
        f"The app should serve the Socket.IO browser client at /static/vendor/socket.io.min.js. {FETCH_HINT}"
    )
    version = re.search(r"Socket\.IO v(\d+)\.(\d+)\.(\d+)", body[:500])
    assert version, f"static/vendor/socket.io.min.js does not look like the Socket.IO client. {FETCH_HINT}"
    assert int(version.group(1)) in SERVER_SPEAKS, (
        f"The served Socket.IO client is v{version.group(0)[11:]}; Flask-SocketIO 5 (python-socketio 5) "
        f"speaks only with client 3.x or 4.x. Delete the file and fetch 4.8. {FETCH_HINT}"
    )


# ---------------------------------------------------------------- live: a real server, real clients

def test_live_user_and_attendant_talk_both_ways_and_other_sessions_hear_nothing(live_server, log_dir):
    """Look at the message handler: log the message, then emit it to the session's room (to=chat_id)."""
    url = live_server.url
    browser, other_browser, desk = RemoteClient(url), RemoteClient(url), signed_in(RemoteClient(url))
    chat_id, other_id = start_chat(browser), start_chat(other_browser)
    with SocketWindow(url, browser) as user, SocketWindow(url, desk) as attendant, \
            SocketWindow(url, other_browser) as outsider:
        assert user.transport == "websocket", "The real server should serve the WebSocket transport"
        user.join(chat_id, "user")
        attendant.join(chat_id, "attendant")
        outsider.join(other_id, "user")

        conversation = [(user, "user", "Hello, is anyone there?"),
                        (attendant, "attendant", "Yes, I am here. How can I help?"),
                        (user, "user", "My order has not arrived.")]
        converse(conversation, [("user", user), ("attendant", attendant)])
        hears_nothing_else(outsider, "my own session",
                           "A window in another session must receive nothing from this one")
    assert logged_messages(log_dir, chat_id) == [(role, text) for _, role, text in conversation], (
        "The session's log should hold each message of the conversation once, in order"
    )


def test_live_a_browser_style_connection_upgrades_to_websocket_and_a_foreign_origin_is_refused(
        live_server):
    """Look at how create_app sets up Socket.IO: async_mode="threading", and cors_allowed_origins only the app's
    own pages (hardening.socketio_settings), never "*"."""
    # No Origin header of our own: the WebSocket library sends the server's origin, as a page would.
    page_like = SocketWindow(live_server.url).connect(transports=["polling", "websocket"])
    try:
        assert page_like.transport == "websocket", (
            "A client that starts on HTTP polling, as the browser does, should be upgraded to WebSocket "
            f"by `flask run` in threading mode; it stayed on {page_like.transport}"
        )
    finally:
        page_like.disconnect()
    foreign = SocketWindow(live_server.url, headers={"Origin": "https://evil.example"})
    with pytest.raises(socketio.exceptions.ConnectionError):
        foreign.connect()
        foreign.disconnect()
        pytest.fail("A page from another website must not be able to connect (never cors_allowed_origins='*')")


def test_live_history_after_reconnect_has_nothing_duplicated_or_lost(live_server):
    """Look at the join handler: join the room and read the history under one lock, so no message falls between
    them or comes twice."""
    browser, desk = RemoteClient(live_server.url), signed_in(RemoteClient(live_server.url))
    chat_id = start_chat(browser)
    with SocketWindow(live_server.url, browser) as user:
        user.join(chat_id, "user")
        attendant = SocketWindow(live_server.url, desk).connect()
        attendant.join(chat_id, "attendant")
        attendant.send("before the reload")
        attendant.expect("message")
        attendant.disconnect()  # the attendant's window reloads ...
        seen = [user.expect("message")["text"]]
        for text in ("while you were away 1", "while you were away 2"):
            user.send(text)  # answered once the server has logged it and sent it to the room
            seen.append(user.expect("message")["text"])
        assert seen == ["before the reload", "while you were away 1", "while you were away 2"], (
            f"The user's window should get the messages in the order they were sent; got {seen}"
        )

        with SocketWindow(live_server.url, desk) as again:  # ... and connects again
            history = again.join(chat_id, "attendant")
            user.send("after the reload")
            live = again.expect("message", "after the reconnect")
            texts = [m["text"] for m in history["messages"]] + [live["text"]]
            assert texts == ["before the reload", "while you were away 1", "while you were away 2",
                             "after the reload"], (
                f"After a reconnect, history then live should give every message once, in order; got {texts}"
            )
            assert again.received("message") == [], "No message should arrive twice"


ROUNDS = 6  # the concurrency check runs 6 times in a row, every time without a failure (an even number:
# the two groups of user browsers take turns)


def test_live_fifty_clients_at_once_six_rounds_leave_each_message_logged_once_intact_and_in_order(
        start_app, stage_env, log_dir):
    """Look at the message handler and chat_log.append: one write at a time per log, each message one whole
    line, emitted in the order it was logged."""
    # 50 windows in 10 sessions of 5 (2 tabs of the user's browser, 3 of the attendant's) send at once, then
    # again: 6 rounds, each with 10 fresh sessions, on one server. Every message also goes to the 5 windows of
    # its session (one session of 50 would mean 50 deliveries a message).
    sessions, tabs, per_client = 10, 5, 2
    clients = sessions * tabs
    server = served(start_app, {**stage_env,
                           # What this check is about is concurrency, not the bounds (their own checks):
                           # 90 windows from one address, each sending as fast as it can.
                           "FLASK_MESSAGE_RATE": "10000 per second"})
    # An address may start 10 chats a minute: 20 user browsers, each from an address of its own
    # (127.0.0.2, ...), those of group g starting the sessions of the rounds r with r % 2 == g.
    # They start them before their tabs connect: a window carries its browser's cookie as it was
    # when it connected.
    users = [server.client(address=f"127.0.0.{2 + number}") for number in range(2 * sessions)]
    chat_ids = {}

    def start_chats(number, browser):
        for round_ in range(number // sessions, ROUNDS, 2):
            chat_ids[round_, number % sessions] = start_chat(browser)

    assert not in_threads(start_chats, users) and len(chat_ids) == ROUNDS * sessions, (
        "Every session of every round should start")
    desk = signed_in(server.client())

    # Window number n is in session n % 10: a tab of its user's browser in rows 1 and 3 (n // 10),
    # else a tab of the attendant's.
    def is_users(client):
        return (client // sessions) % 2 == 1

    desk_tabs = connect_windows(server.url, [desk for n in range(clients) if not is_users(n)])
    user_tabs = [connect_windows(server.url, [users[group * sessions + n % sessions] for n in range(clients) if is_users(n)])
                 for group in (0, 1)]
    opened = desk_tabs + user_tabs[0] + user_tabs[1]
    try:
        assert len(opened) == clients + len(user_tabs[0]), f"All {clients + len(user_tabs[0])} windows should connect"

        def text_for(round_, client, number):
            return f'round {round_} client {client} message {number}: "quoted", spaced  out\nand on two lines ✓'

        for round_ in range(ROUNDS):
            tabs_now = [iter(desk_tabs), iter(user_tabs[round_ % 2])]
            windows = [next(tabs_now[is_users(n)]) for n in range(clients)]
            start_line = threading.Barrier(clients)

            def join_and_send(client, win):
                role = "user" if is_users(client) else "attendant"
                win.emit("join", {"chat_id": chat_ids[round_, client % sessions]})
                history = [payload for name, payload in win.received() if name == "history"]
                assert history and history[0]["role"] == role, (
                    f"Window {client} should have joined as the {role}; got {history}")
                start_line.wait(WAIT)
                for number in range(per_client):
                    win.emit("message", {"text": text_for(round_, client, number)}, answered=False)

            problems = in_threads(join_and_send, windows)
            assert not problems, f"Round {round_}: {problems[0]}"
            for session in range(sessions):
                chat_id = chat_ids[round_, session]
                senders_here = range(session, clients, sessions)
                sent = {text_for(round_, client, number) for client in senders_here for number in range(per_client)}
                for win in windows[session::sessions]:
                    seen = [win.expect("message", f"in session {chat_id} (round {round_})")["text"] for _ in sent]
                    # The log gives the order; here, each message once: compare the sorted lists.
                    assert sorted(seen) == sorted(sent), (
                        f"Every window of session {chat_id} should get each of its messages exactly once (round {round_})")
                logged = [text for _role, text in logged_messages(log_dir, chat_id)]  # also checks each line
                assert len(logged) == len(sent) and set(logged) == sent, (
                    f"Session {chat_id}'s log should hold each of its {len(sent)} messages once, intact, "
                    f"and nothing from other sessions; it has {len(logged)} lines (round {round_})"
                )
                for client in senders_here:
                    # The server handles one window's events one after the other (async_handlers=False).
                    own = [text for text in logged if text.startswith(f"round {round_} client {client} message ")]
                    assert own == [text_for(round_, client, number) for number in range(per_client)], (
                        f"The log should hold client {client}'s messages in the order it sent them (round {round_})"
                    )
    finally:
        disconnect_windows(opened)


def in_threads(work, items):
    """work(number, item) for each item at once, a thread each; return the problems they raised."""
    problems = []

    def run(number, item):
        try:
            work(number, item)
        except Exception as problem:  # noqa: BLE001 (reported by the test)
            problems.append(problem)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    return problems
