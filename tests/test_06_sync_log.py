"""Stage 6: both clients share one chat.log; an empty box means Refresh.

Every message, whoever sends it, goes to chat.log; the checks stage 5 makes too are in
tests/test_chat_pages.py.
"""
import re

import pytest
from support import hostile
from support.chat_pages import EMPTY_TEXTS, ROLES, read_log, send
from support.remote import csrf_token

STAGE = 6


# --- The new concept: one log for the whole conversation ------------------------------------------

def test_both_clients_write_to_one_shared_chat_log(client, log_dir):
    """Both roles append to one <LOG_DIR>/chat.log, each line with its own role."""
    send(client, "user", "My order has not arrived")
    send(client, "attendant", "Let me check that for you")
    send(client, "user", "Thanks!")
    assert read_log(log_dir / "chat.log") == [
        ("user", "My order has not arrived"),
        ("attendant", "Let me check that for you"),
        ("user", "Thanks!"),
    ], "chat.log should hold both sides of the conversation, in the order the messages were sent"
    assert not (log_dir / "user.log").exists() and not (log_dir / "attendant.log").exists(), (
        "In stage 6 the separate user.log and attendant.log are gone: everything goes to chat.log"
    )


@pytest.mark.parametrize("role", ROLES)
def test_each_page_shows_the_whole_conversation_who_what_and_when(client, log_dir, role):
    """Both pages read chat.log and list every message with its time and role."""
    send(client, "user", "Is anybody there?")
    send(client, "attendant", "Yes, I am here")
    page = client.get(f"/{role}").text
    items = re.findall(r"<li\b.*?</li>", page, re.DOTALL)
    assert (log_dir / "chat.log").is_file(), "Both clients should write to one log, chat.log in the log folder"
    lines = (log_dir / "chat.log").read_text("utf-8").splitlines()
    for line, (who, text) in zip(lines, [("user", "Is anybody there?"), ("attendant", "Yes, I am here")]):
        time = line.split(" ", 1)[0]
        shown = [item for item in items if text in item]
        assert shown, f"/{role} should show every message of the conversation in a list item, including {text!r}"
        assert who in shown[0].lower(), f"/{role} should say who wrote {text!r} ({who})"
        assert time in shown[0], f"/{role} should say when {text!r} was sent ({time})"
    assert page.find("Is anybody there?") < page.find("Yes, I am here"), f"/{role} should list the oldest first"


def test_the_button_is_send_refresh(client):
    """The submit button's label is Send/Refresh."""
    page = client.get("/user").text
    assert 'value="Send/Refresh"' in page or ">Send/Refresh<" in page, "The form's button should say Send/Refresh"


@pytest.mark.parametrize("text", EMPTY_TEXTS)
def test_an_empty_box_writes_nothing_and_shows_the_conversation_now(client, log_dir, text):
    """An empty or blank box is a Refresh: write nothing, show no error, redirect to the page."""
    token = csrf_token(client.get("/user").text)  # the user's page is open...
    send(client, "attendant", "A reply the user has not seen yet")  # ...when the attendant answers
    assert (log_dir / "chat.log").is_file(), "Both clients should write to one log, chat.log in the log folder"
    before = (log_dir / "chat.log").read_bytes()
    response = client.post("/user", data={"csrf_token": token, "text": text}, follow_redirects=True)
    assert response.status_code == 200, f"Send/Refresh with an empty box should answer 200, got {response.status_code}"
    assert "A reply the user has not seen yet" in response.text, "Refresh should show messages sent since the page opened"
    assert 'class="error"' not in response.text, "An empty box is a Refresh in stage 6, not an error"
    assert (log_dir / "chat.log").read_bytes() == before, "A Refresh should write nothing to chat.log"


def test_a_refresh_before_anyone_wrote_creates_no_message(client, log_dir):
    """A Refresh never writes to chat.log."""
    token = csrf_token(client.get("/attendant").text)
    response = client.post("/attendant", data={"csrf_token": token, "text": " "}, follow_redirects=True)
    assert response.status_code == 200, f"A Refresh of an empty conversation should answer 200, got {response.status_code}"
    assert read_log(log_dir / "chat.log") == [], "A Refresh should never add a line to chat.log"


# --- Pages ---------------------------------------------------------------------------------------

def test_sending_appends_one_line_to_chat_log_and_redirects(client, log_dir):
    """Append to chat.log, then redirect (post/redirect/get)."""
    response = send(client, "user", "Hello, I need help")
    assert response.status_code == 302, f"A sent message should redirect (Post/Redirect/Get), got {response.status_code}"
    assert response.headers["Location"] == "/user", "After sending, the redirect should lead back to /user"
    assert read_log(log_dir / "chat.log") == [("user", "Hello, I need help")], (
        "chat.log should hold exactly one line for the message, with the role 'user'"
    )


# --- Hostile requests: an answer, never a 500 -------------------------------------

def test_a_file_sent_as_the_message_writes_nothing_and_is_not_a_server_error(client, log_dir):
    """Look at how the form is built from the request: a FlaskForm reads request.form, where a file is never a
    message."""
    hostile.a_file_sent_for_a_text_field_gets_an_answer_not_a_server_error(client, "/user", {}, "text")
    assert read_log(log_dir / "chat.log") == [], "A file sent as the message should write nothing to chat.log"


