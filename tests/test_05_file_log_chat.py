"""Stage 5: an app factory, a Blueprint, and two chat clients that each keep their own log.

Each role's messages go to its own log, user.log or attendant.log; the checks stage 6 makes too
are in tests/test_chat_pages.py.
"""
import re

import pytest
from support import hostile
from support.chat_pages import EMPTY_TEXTS, read_log, send
from support.hostile import signed_with, started_or_fail

STAGE = 5


def config_logging_to(log_folder):
    """The test_config a check hands create_app(): testing, with the logs in log_folder."""
    return {"LOG_DIR": str(log_folder)}


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
    started = started_or_fail(start_app(cwd=started_elsewhere), "from create_app() with no test config")
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


# --- Sending: each role to its own log ------------------------------------------------------------

def test_sending_appends_one_line_to_that_clients_log_and_redirects(client, log_dir):
    """Append to <LOG_DIR>/<role>.log through chat_log.append, then redirect to the same page."""
    response = send(client, "user", "Hello, I need help")
    assert response.status_code == 302, f"A sent message should redirect (Post/Redirect/Get), got {response.status_code}"
    assert response.headers["Location"] == "/user", "After sending, the redirect should lead back to /user"
    assert read_log(log_dir / "user.log") == [("user", "Hello, I need help")], (
        "user.log should hold exactly one line for the message, with the role 'user'"
    )


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


# --- Hostile requests: an answer, never a 500 -------------------------------------

def test_a_file_sent_as_the_message_gets_the_form_again_not_a_server_error(client, log_dir):
    """Look at how the form is built from the request: a FlaskForm reads request.form, where a file is never a
    message."""
    response = hostile.a_file_sent_for_a_text_field_gets_an_answer_not_a_server_error(client, "/user", {}, "text")
    assert response.status_code == 200 and 'class="error"' in response.text, (
        "A file sent as the message should get the form again, with an error at the message box"
    )
    assert read_log(log_dir / "user.log") == [], "A file sent as the message should write nothing to user.log"


