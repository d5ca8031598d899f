"""Stage 5: an app factory, a Blueprint, and two chat clients that each keep their own log.

The checks stage 6 makes too live in support/chat_pages.py; here they get stage 5's files:
each role's messages go to its own log, user.log or attendant.log.
"""
import re

import pytest
from support import chat_pages as pages
from support import hostile
from support.chat_pages import disk  # noqa: F401 (a fixture)
from support.chat_pages import EMPTY_TEXTS, ROLES, TRICKY, UNKNOWN_ROLE_PATHS, read_log, send
from support.hostile import signed_with, started_or_fail

STAGE = 5

CLIENTS, MESSAGES_EACH = 50, 20


def config_logging_to(log_folder):
    """The test_config a check hands create_app(): testing, with the logs in log_folder."""
    return {"TESTING": True, "LOG_DIR": str(log_folder)}


# --- The new structure: an app package with a factory and a Blueprint -------------------------

def test_the_app_is_a_package_built_by_create_app(stage_folder, start_app, tmp_path):
    """app/__init__.py defines create_app(test_config=None), which builds and returns a new Flask app and
    registers the Blueprint from app/routes.py."""
    package = stage_folder / "app"
    assert (package / "__init__.py").is_file(), "Stage 5 keeps its code in a package: app/__init__.py"
    assert (package / "routes.py").is_file(), "The routes live in app/routes.py"
    code = {path.name: path.read_text("utf-8") for path in package.glob("*.py")}
    assert any(re.search(r"^def create_app\(", text, re.M) for text in code.values()) and "create_app" in code["__init__.py"], (
        "app/__init__.py should define create_app(test_config=None)"
    )
    assert "Blueprint(" in code["routes.py"] and "register_blueprint(" in code["__init__.py"], (
        "The routes should come from a Blueprint registered by create_app()"
    )
    # Two apps at once, each built with its own settings: each writes only where it was told.
    first = started_or_fail(start_app(config=config_logging_to(tmp_path / "first")), "from create_app(test_config)")
    second = started_or_fail(start_app(config=config_logging_to(tmp_path / "second")), "from create_app(test_config)")
    send(first.client(), "user", "to the first app")
    send(second.client(), "user", "to the second app")
    assert (read_log(tmp_path / "first" / "user.log"), read_log(tmp_path / "second" / "user.log")) == (
        [("user", "to the first app")], [("user", "to the second app")]), "Each call of create_app() should build a new app"


def test_create_app_takes_settings_from_the_environment(start_app, stage_env, log_dir, tmp_path):
    """In create_app: load_dotenv(), then app.config.from_prefixed_env(), then test_config."""
    started_elsewhere = tmp_path / "started-here"
    started_elsewhere.mkdir()
    started = started_or_fail(start_app(config=None, cwd=started_elsewhere), "from create_app() with no test config")
    client = started.client()
    send(client, "user", "Where does this go?")
    assert read_log(log_dir / "user.log") == [("user", "Where does this go?")], (
        "FLASK_LOG_DIR in the environment should become LOG_DIR"
    )
    assert signed_with(client, stage_env["FLASK_SECRET_KEY"]), "FLASK_SECRET_KEY in the environment should become SECRET_KEY"


def test_test_config_wins_over_the_environment(start_app, log_dir, tmp_path):
    """Apply test_config after from_prefixed_env(), and only set LOG_DIR with setdefault."""
    other = tmp_path / "other-logs"
    started = started_or_fail(start_app(config=config_logging_to(other)), "from create_app(test_config)")
    send(started.client(), "user", "Where does this go?")
    assert read_log(other / "user.log") == [("user", "Where does this go?")] and read_log(log_dir / "user.log") == [], (
        "create_app(test_config) should override the environment"
    )


def test_a_missing_log_folder_is_created(start_app, tmp_path):
    """os.makedirs(app.config['LOG_DIR'], exist_ok=True) in create_app."""
    folder = tmp_path / "not" / "there" / "yet"
    started_or_fail(start_app(config=config_logging_to(folder)), "with a log folder that does not exist yet")
    assert folder.is_dir(), "create_app() should create the log folder when it is missing"


def test_without_a_secret_key_the_app_warns_and_picks_a_random_one(start_app, stage_env, log_dir):
    """With no key configured: secrets.token_urlsafe() and one app.logger.warning naming FLASK_SECRET_KEY."""
    no_key = {**stage_env, "FLASK_SECRET_KEY": ""}  # set but empty, so no .env file can fill it in
    starts = []
    for _ in range(2):
        started = started_or_fail(start_app(env=no_key, config={"LOG_DIR": str(log_dir)}), "with no FLASK_SECRET_KEY")
        status = hostile.sends_its_own_form(started, "/user", {"text": "Sent with a random key"})
        assert status == 302, f"With no FLASK_SECRET_KEY the app should still get a secret key; sending a message got {status}"
        warnings = [line for line in hostile.warnings_in(started.output()) if "SECRET_KEY" in line]
        assert len(warnings) == 1, "Each app built without a key should log one warning that names FLASK_SECRET_KEY"
        starts.append(started)
    status = hostile.a_form_from_one_start_sent_to_another(*starts, "/user", {"text": "Sent to the other app"})
    assert status == 400, f"That key should be random, not fixed in code: a form from one app was accepted by the other ({status})"


# --- Pages ---------------------------------------------------------------------------------------

def test_home_page_links_to_both_clients(client):
    """The home page links /user and /attendant with url_for('main.chat', role=...)."""
    pages.home_page_links_to_both_clients(client)


@pytest.mark.parametrize("role", ROLES)
def test_each_client_shows_a_message_form_in_the_shared_layout(client, role):
    """One chat.html extending base.html, with the form's fields and {{ form.hidden_tag() }}."""
    pages.client_shows_a_message_form_in_the_shared_layout(client, role)


@pytest.mark.parametrize("path", UNKNOWN_ROLE_PATHS)
def test_an_unknown_role_is_not_found(client, path):
    """Let the route accept only the two roles: /<any(user, attendant):role>."""
    pages.unknown_role_is_not_found(client, path)


# --- Sending: each role to its own log ------------------------------------------------------------

def test_sending_appends_one_line_to_that_clients_log_and_redirects(client, log_dir):
    """Append to <LOG_DIR>/<role>.log through chat_log.append, then redirect to the same page."""
    pages.sending_appends_one_line_and_redirects(client, log_dir / "user.log")


def test_after_the_redirect_the_page_shows_the_message_and_a_flash(client):
    """Look at what the chat view does after a good message (flash, then redirect) and at the page it redirects
    to: it lists the log and base.html shows get_flashed_messages()."""
    pages.after_the_redirect_the_page_shows_the_message_and_a_flash(client)


def test_the_two_clients_do_not_see_each_other(client, log_dir):
    """Each role reads and writes its own log file only."""
    send(client, "user", "Is anybody there?")
    send(client, "attendant", "Hello, I am here")
    assert read_log(log_dir / "user.log") == [("user", "Is anybody there?")], "user.log should hold only the user's message"
    assert read_log(log_dir / "attendant.log") == [("attendant", "Hello, I am here")], (
        "attendant.log should hold only the attendant's message"
    )
    assert "Is anybody there?" not in client.get("/attendant").text, "In stage 5 the attendant cannot see the user"
    assert "Hello, I am here" not in client.get("/user").text, "In stage 5 the user cannot see the attendant"


@pytest.mark.parametrize("text", EMPTY_TEXTS)
def test_an_empty_message_shows_an_error_and_writes_nothing(client, log_dir, text):
    """DataRequired on the text field refuses an empty or blank box with an error."""
    response = send(client, "user", text)
    assert response.status_code == 200, f"An empty message should show the form again, got {response.status_code}"
    assert "Type a message first" in response.text, "An empty message should show the error 'Type a message first'"
    assert read_log(log_dir / "user.log") == [], "An empty message should write nothing to user.log"


def test_a_message_over_the_limit_shows_an_error_naming_the_limit_and_writes_nothing(client, log_dir):
    """Length(max=500) on the text field: its error names the limit."""
    pages.a_message_over_the_limit_is_refused(client, log_dir / "user.log")


def test_a_message_of_exactly_500_characters_is_sent(client, log_dir):
    """Look at the text field's Length validator: 500 characters are still allowed."""
    pages.a_message_at_the_limit_is_sent(client, log_dir / "user.log")


def test_a_post_without_the_csrf_token_writes_nothing(client, log_dir):
    """Look at the order in the chat view: only a form that validate_on_submit() accepts (its CSRF token
    included) reaches the log."""
    pages.a_post_without_the_csrf_token_writes_nothing(client, log_dir / "user.log")


def test_odd_requests_get_an_answer_not_a_server_error(client, log_dir):
    """Look at what the chat view takes from the request: only the validated form's text, never
    request.form[...] or request.json."""
    pages.odd_requests_get_an_answer_not_a_server_error(client, log_dir / "user.log")


# --- What each log holds is exactly what was sent ------------------------------------------------

def test_messages_are_shown_as_text_not_run_as_html(client):
    """Show messages with {{ message.text }} (escaped), never |safe."""
    pages.messages_are_shown_as_text_not_run_as_html(client)


@pytest.mark.parametrize("text", TRICKY)
def test_a_message_cannot_forge_a_log_line(client, log_dir, text):
    """Write the text with json.dumps(text): quotes, newlines and every non-ASCII character become escapes, so
    one message is one line."""
    pages.a_message_cannot_forge_a_log_line(client, log_dir / "user.log", text)


def test_each_message_shows_its_time_as_a_person_reads_it(client, log_dir):
    """Keep the ISO time in <time datetime="...">, and show it as a person reads it, e.g. 2026-12-04 17:00."""
    pages.each_message_shows_its_time_as_a_person_reads_it(client, log_dir / "user.log")


def test_the_log_reads_back_every_message_in_order(client, log_dir):
    """Look at chat_log.read: each line is '<time> <role> <JSON string>', and the string goes through
    json.loads."""
    pages.the_log_reads_back_every_message_in_order(client, log_dir / "attendant.log")


# --- A real server, many clients at once -------------------------------------------------------------

def test_fifty_clients_sending_at_once_leave_exactly_one_line_per_message(live_server, log_dir):
    """Look at chat_log.append: one message must reach the file as one whole line, however many requests write
    at once."""
    sent = pages.send_from_many_clients_at_once(live_server.url, CLIENTS, MESSAGES_EACH)
    total = 0
    for role in ROLES:
        stored = read_log(log_dir / f"{role}.log")
        total += len(stored)
        assert sorted(stored) == sorted((role, text) for text in sent[role]), (
            f"{role}.log should hold exactly the {len(sent[role])} messages its clients sent, each on one intact line"
        )
    assert total == CLIENTS * MESSAGES_EACH, (
        f"{CLIENTS} clients x {MESSAGES_EACH} messages should leave {CLIENTS * MESSAGES_EACH} lines, found {total}"
    )


# --- Faults: whatever happens to the disk, the log stays whole and the sender is told ------------

def test_a_log_with_lines_the_app_never_wrote_still_shows_the_others(client, log_dir):
    """Look at chat_log.read: a line that is not exactly what append() writes is skipped, never a crash."""
    pages.a_log_with_lines_the_app_never_wrote_still_shows_the_others(client, log_dir / "user.log")


def test_sending_after_the_log_folder_was_deleted_recreates_it(client, log_dir):
    """Look at chat_log.append: the log folder may be gone by the time a message arrives."""
    pages.sending_after_the_log_folder_was_deleted_recreates_it(client, log_dir / "user.log")


def test_a_log_folder_that_cannot_be_written_gives_a_clear_error(client, log_dir):
    """Look at what the chat view does when chat_log.append raises OSError."""
    pages.a_log_folder_that_cannot_be_written_gives_a_clear_error(client, log_dir / "user.log")


def test_a_full_disk_never_corrupts_the_log(disk, live_server, log_dir):  # noqa: F811 (a fixture)
    """Look at chat_log.append when the disk fills up: what becomes of a line written in part, and what the chat
    view tells the sender."""
    # On a 64 kB tmpfs where the machine lets the tests mount one, and with an injected full disk (the server's
    # file size limit) everywhere.
    pages.a_full_disk_never_corrupts_the_log(live_server, disk, log_dir / "user.log", "user")


# --- Hostile settings and requests: an answer, never a 500 -------------------------------------

def test_settings_are_read_as_the_text_they_are(start_app, stage_env):
    """Look at how the app reads its FLASK_* settings: from_prefixed_env() guesses JSON unless told loads=str."""
    hostile.settings_read_as_text(start_app, stage_env, "/user")


def test_a_bad_setting_stops_the_app_at_start_naming_it(start_app, stage_env):
    """Look at where hardening.init_app reads MAX_CONTENT_LENGTH, and at what it does with a value that is not a
    number of bytes."""
    hostile.a_bad_setting_stops_the_start(start_app, stage_env)


def test_only_the_stages_own_dotenv_is_read(start_app, stage_env, stage_folder, tmp_path):
    """Look at the load_dotenv() call: without a path it searches the folders above the stage too."""
    hostile.only_the_own_dotenv_is_read(start_app, stage_env, stage_folder, tmp_path, "/user")


def test_a_request_body_over_the_limit_is_refused_with_413(client):
    """Look at hardening.init_app and whether the app calls it: MAX_CONTENT_LENGTH bounds a request's body."""
    hostile.a_request_body_over_the_limit_is_refused_with_413(client, "/user")


def test_a_file_sent_as_the_message_gets_the_form_again_not_a_server_error(client, log_dir):
    """Look at how the form is built from the request: a FlaskForm reads request.form, where a file is never a
    message."""
    response = hostile.a_file_sent_for_a_text_field_gets_an_answer_not_a_server_error(client, "/user", {}, "text")
    assert response.status_code == 200 and 'class="error"' in response.text, (
        "A file sent as the message should get the form again, with an error at the message box"
    )
    assert read_log(log_dir / "user.log") == [], "A file sent as the message should write nothing to user.log"


def test_pages_carry_the_secure_defaults(client):
    """Look at hardening.py and whether the app calls init_app: the nosniff and framing headers on every answer,
    and SESSION_COOKIE_SAMESITE."""
    hostile.pages_carry_the_secure_defaults(client, "/user")
