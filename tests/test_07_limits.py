"""Stage 7 under faults and abuse: a full disk, lines the app never wrote, hostile clients.

Each check states one bound or one fault and what the sender is told; none of them may cost a
server error, a lost message or another session's time.
"""
import json

from support.chat_pages import NOT_WRITTEN_BY_THE_APP, UNFINISHED_LAST_LINE, disk  # noqa: F401 (a fixture)
from support import hostile
from support.loader import load_app
from support.sockets import ChatWindow, start_chat

STAGE = 7


def session_log(log_dir, chat_id):
    return log_dir / f"chat_{chat_id}.log"


def whole_lines(path):
    """The (role, text) of every line, checking each is a whole line the app wrote."""
    messages = []
    content = path.read_bytes().decode("utf-8")
    assert content.endswith("\n"), f"{path.name} should end with a whole line"
    for line in content.split("\n")[:-1]:
        time, role, text = line.split(" ", 2)
        messages.append((role, json.loads(text)))
    return messages


# --- The log: whole lines only, whatever the disk does ----------------------------------------------

def test_a_full_disk_never_corrupts_a_session_log(disk, live_server, log_dir):  # noqa: F811
    """On a 64 kB tmpfs where the machine lets the tests mount one, and with an injected full disk
    (the server's file size limit) everywhere."""
    disk.server = live_server
    chat_id = start_chat(live_server.url)
    log = session_log(log_dir, chat_id)
    before = [f"message {n} {'x' * 480}" for n in range(7)]
    with ChatWindow(live_server.url) as user:
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
    with ChatWindow(live_server.url) as again:
        history = again.join(chat_id, "attendant")["messages"]
    assert [m["text"] for m in history] == before + ["room again"], "Joining later should give that whole history"


def test_a_log_with_lines_the_app_never_wrote_still_gives_the_history(live_server, log_dir):
    chat_id = start_chat(live_server.url)
    session_log(log_dir, chat_id).write_bytes(
        b'2026-01-01T00:00:00 user "written before"\n'
        + b"".join(NOT_WRITTEN_BY_THE_APP)
        + b'2026-01-01T00:00:01 attendant "written after"\n'
        + UNFINISHED_LAST_LINE
    )
    with ChatWindow(live_server.url) as attendant:
        attendant.client.emit("join", {"chat_id": chat_id, "role": "attendant"})
        history = attendant.expect("history", "after joining a session whose log has lines the app never wrote")
    assert [(m["role"], m["text"]) for m in history["messages"]] == [
        ("user", "written before"), ("attendant", "written after")], (
        "The history should hold exactly the lines the app wrote, skipping every other line "
        "(not UTF-8, half a character, JSON nested 100,000 deep, not a string, unfinished)"
    )


# --- Hostile settings and requests: an answer, never a 500 -------------------------------------

def test_settings_are_read_as_the_text_they_are(stage_folder, stage_env, log_dir, monkeypatch):
    hostile.settings_are_read_as_the_text_they_are(stage_folder, log_dir, monkeypatch, "/user")


def test_a_bad_setting_stops_the_app_at_start_naming_it(stage_folder, stage_env, log_dir, monkeypatch):
    hostile.a_bad_setting_stops_the_app_at_start_naming_it(stage_folder, log_dir, monkeypatch)


def test_only_the_stages_own_dotenv_is_read(stage_folder, stage_env, tmp_path, log_dir, monkeypatch):
    hostile.only_the_stages_own_dotenv_is_read(stage_folder, tmp_path, log_dir, monkeypatch)


def test_a_request_body_over_the_limit_is_refused_with_413(client):
    hostile.a_request_body_over_the_limit_is_refused_with_413(client, "/user")


def test_pages_carry_the_secure_defaults(client):
    hostile.pages_carry_the_secure_defaults(client, "/user")


# --- Only its own host names: DNS rebinding ------------------------------------------------------

POLLING = "/socket.io/?EIO=4&transport=polling"


def test_only_its_own_host_names_are_answered(client):
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


def test_the_host_names_come_from_the_environment(stage_folder, stage_env, log_dir, monkeypatch):
    monkeypatch.setenv("FLASK_TRUSTED_HOSTS", "chat.example,127.0.0.1")
    app, _ = load_app(stage_folder, {"TESTING": True, "LOG_DIR": str(log_dir)})
    client = app.test_client()
    assert client.get("/", headers={"Host": "chat.example"}).status_code == 200, (
        "FLASK_TRUSTED_HOSTS=chat.example,127.0.0.1 should let requests for chat.example in"
    )
    assert client.get("/", headers={"Host": "localhost"}).status_code == 400, (
        "FLASK_TRUSTED_HOSTS=chat.example,127.0.0.1 should turn away requests for localhost"
    )
