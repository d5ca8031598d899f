"""Stage 6: both clients share one chat.log; an empty box means Refresh.

The checks stage 5 makes too live in support/chat_pages.py; here they get stage 6's file:
every message, whoever sends it, goes to chat.log.
"""
import re

import pytest
from support import chat_pages as pages
from support import hostile
from support.chat_pages import disk  # noqa: F401 (a fixture)
from support.chat_pages import EMPTY_TEXTS, ROLES, TRICKY, UNKNOWN_ROLE_PATHS, csrf_token, read_log, send

STAGE = 6

CLIENTS, MESSAGES_EACH = 50, 20


# --- The new concept: one log for the whole conversation ------------------------------------------

def test_both_clients_write_to_one_shared_chat_log(client, log_dir):
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
    page = client.get("/user").text
    assert 'value="Send/Refresh"' in page or ">Send/Refresh<" in page, "The form's button should say Send/Refresh"


@pytest.mark.parametrize("text", EMPTY_TEXTS)
def test_an_empty_box_writes_nothing_and_shows_the_conversation_now(client, log_dir, text):
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
    token = csrf_token(client.get("/attendant").text)
    response = client.post("/attendant", data={"csrf_token": token, "text": " "}, follow_redirects=True)
    assert response.status_code == 200, f"A Refresh of an empty conversation should answer 200, got {response.status_code}"
    assert read_log(log_dir / "chat.log") == [], "A Refresh should never add a line to chat.log"


# --- Pages ---------------------------------------------------------------------------------------

def test_home_page_links_to_both_clients(client):
    pages.home_page_links_to_both_clients(client)


@pytest.mark.parametrize("role", ROLES)
def test_each_client_shows_a_message_form_in_the_shared_layout(client, role):
    pages.client_shows_a_message_form_in_the_shared_layout(client, role)


@pytest.mark.parametrize("path", UNKNOWN_ROLE_PATHS)
def test_an_unknown_role_is_not_found(client, path):
    pages.unknown_role_is_not_found(client, path)


# --- Sending: every message to chat.log -----------------------------------------------------------

def test_sending_appends_one_line_to_chat_log_and_redirects(client, log_dir):
    pages.sending_appends_one_line_and_redirects(client, log_dir / "chat.log")


def test_after_the_redirect_the_page_shows_the_message_and_a_flash(client):
    pages.after_the_redirect_the_page_shows_the_message_and_a_flash(client)


def test_a_message_over_the_limit_shows_an_error_naming_the_limit_and_writes_nothing(client, log_dir):
    pages.a_message_over_the_limit_is_refused(client, log_dir / "chat.log")


def test_a_message_of_exactly_500_characters_is_sent(client, log_dir):
    pages.a_message_at_the_limit_is_sent(client, log_dir / "chat.log")


def test_a_post_without_the_csrf_token_writes_nothing(client, log_dir):
    pages.a_post_without_the_csrf_token_writes_nothing(client, log_dir / "chat.log")


def test_odd_requests_get_an_answer_not_a_server_error(client, log_dir):
    pages.odd_requests_get_an_answer_not_a_server_error(client, log_dir / "chat.log")


# --- What the log holds is exactly what was sent ---------------------------------------------------

def test_messages_are_shown_as_text_not_run_as_html(client):
    pages.messages_are_shown_as_text_not_run_as_html(client)


@pytest.mark.parametrize("text", TRICKY)
def test_a_message_cannot_forge_a_log_line(client, log_dir, text):
    pages.a_message_cannot_forge_a_log_line(client, log_dir / "chat.log", text)


def test_each_message_shows_its_time_as_a_person_reads_it(client, log_dir):
    pages.each_message_shows_its_time_as_a_person_reads_it(client, log_dir / "chat.log")


def test_the_log_reads_back_every_message_in_order(client, log_dir):
    pages.the_log_reads_back_every_message_in_order(client, log_dir / "chat.log")


# --- A real server, many clients at once -------------------------------------------------------------

def test_fifty_clients_sending_at_once_leave_exactly_one_line_per_message(live_server, log_dir):
    sent = pages.send_from_many_clients_at_once(live_server.url, CLIENTS, MESSAGES_EACH)
    stored = read_log(log_dir / "chat.log")
    assert len(stored) == CLIENTS * MESSAGES_EACH, (
        f"{CLIENTS} clients x {MESSAGES_EACH} messages should leave {CLIENTS * MESSAGES_EACH} lines "
        f"in chat.log, found {len(stored)}"
    )
    assert sorted(stored) == sorted((role, text) for role in ROLES for text in sent[role]), (
        "chat.log should hold exactly the messages sent by both sides, each on one intact line"
    )


# --- Faults: whatever happens to the disk, the log stays whole and the sender is told ------------

def test_a_log_with_lines_the_app_never_wrote_still_shows_the_others(client, log_dir):
    pages.a_log_with_lines_the_app_never_wrote_still_shows_the_others(client, log_dir / "chat.log")


def test_sending_after_the_log_folder_was_deleted_recreates_it(client, log_dir):
    pages.sending_after_the_log_folder_was_deleted_recreates_it(client, log_dir / "chat.log")


def test_a_log_folder_that_cannot_be_written_gives_a_clear_error(client, log_dir):
    pages.a_log_folder_that_cannot_be_written_gives_a_clear_error(client, log_dir / "chat.log")


def test_a_full_disk_never_corrupts_the_log(disk, live_server, log_dir):  # noqa: F811 (a fixture)
    """On a 64 kB tmpfs where the machine lets the tests mount one, and with an injected full disk
    (the server's file size limit) everywhere."""
    pages.a_full_disk_never_corrupts_the_log(live_server, disk, log_dir / "chat.log", "user")


# --- Hostile settings and requests: an answer, never a 500 -------------------------------------

def test_settings_are_read_as_the_text_they_are(start_app, stage_env):
    hostile.settings_read_as_text(start_app, stage_env, "/user")


def test_a_bad_setting_stops_the_app_at_start_naming_it(start_app, stage_env):
    hostile.a_bad_setting_stops_the_start(start_app, stage_env)


def test_only_the_stages_own_dotenv_is_read(start_app, stage_env, stage_folder, tmp_path):
    hostile.only_the_own_dotenv_is_read(start_app, stage_env, stage_folder, tmp_path, "/user")


def test_a_request_body_over_the_limit_is_refused_with_413(client):
    hostile.a_request_body_over_the_limit_is_refused_with_413(client, "/user")


def test_a_file_sent_as_the_message_writes_nothing_and_is_not_a_server_error(client, log_dir):
    hostile.a_file_sent_for_a_text_field_gets_an_answer_not_a_server_error(client, "/user", {}, "text")
    assert read_log(log_dir / "chat.log") == [], "A file sent as the message should write nothing to chat.log"


def test_pages_carry_the_secure_defaults(client):
    hostile.pages_carry_the_secure_defaults(client, "/user")
