"""Checks stages 4 to 7 share: settings read as the text they are, only the stage's own .env,
and requests a hostile client sends (a file for a text field, a huge body) answered, never a 500.

Each stage's test file has its own test functions (their names are the grader's checks) and
calls these with what differs: where its form is and which field holds the text.
"""
import io
import re
import shutil

import pytest

from loader import StageLoadError, load_app

# Each would be a number, a boolean, a list or None if the app let Flask guess with json.loads.
SECRET_KEYS_THAT_LOOK_LIKE_JSON = ["123456", "true", "1e3", "[1,2]", "0", "null", "false"]
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def stage_copy(stage_folder, tmp_path):
    """A copy of the stage inside a parent folder of its own, with no .env."""
    copy = tmp_path / "parent" / stage_folder.name
    shutil.copytree(stage_folder, copy, ignore=shutil.ignore_patterns(".env", "__pycache__", "instance"))
    return copy


def settings_are_read_as_the_text_they_are(stage_folder, log_dir, monkeypatch, form_page):
    for key in SECRET_KEYS_THAT_LOOK_LIKE_JSON:
        monkeypatch.setenv("FLASK_SECRET_KEY", key)
        app, _ = load_app(stage_folder, {"TESTING": True, "LOG_DIR": str(log_dir)})
        assert app.config["SECRET_KEY"] == key, (
            f"FLASK_SECRET_KEY={key} should give the key '{key}' as text, but gave {app.config['SECRET_KEY']!r}: "
            "read the settings with app.config.from_prefixed_env(loads=str)"
        )
        status = app.test_client().get(form_page).status_code
        assert status == 200, f"With FLASK_SECRET_KEY={key} the page {form_page} should answer 200, not {status}"


def a_bad_setting_stops_the_app_at_start_naming_it(stage_folder, log_dir, monkeypatch):
    monkeypatch.setenv("FLASK_MAX_CONTENT_LENGTH", "a lot")
    with pytest.raises((SystemExit, StageLoadError)) as stopped:
        load_app(stage_folder, {"TESTING": True, "LOG_DIR": str(log_dir)})
    assert "FLASK_MAX_CONTENT_LENGTH" in str(stopped.value), (
        "FLASK_MAX_CONTENT_LENGTH='a lot' should stop the app at start with a message naming "
        f"FLASK_MAX_CONTENT_LENGTH, not {stopped.value}"
    )


def only_the_stages_own_dotenv_is_read(stage_folder, tmp_path, log_dir, monkeypatch):
    copy = stage_copy(stage_folder, tmp_path)
    (copy.parent / ".env").write_text("FLASK_SECRET_KEY=from-a-parent-folder\nFLASK_FROM_A_PARENT=yes\n", "utf-8")
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.chdir(copy)  # where `flask --app app run` is started
    app, _ = load_app(copy, {"TESTING": True, "LOG_DIR": str(log_dir)})
    assert "FROM_A_PARENT" not in app.config and app.config["SECRET_KEY"] != "from-a-parent-folder", (
        "A .env in a parent folder of the stage must not be read: give load_dotenv() the path of the "
        "stage's own .env, instead of letting it search the folders above"
    )
    (copy / ".env").write_text("FLASK_SECRET_KEY=from-the-stage-folder\n", "utf-8")
    app, _ = load_app(copy, {"TESTING": True, "LOG_DIR": str(log_dir)})
    assert app.config["SECRET_KEY"] == "from-the-stage-folder", "The .env in the stage's own folder should be read"


def a_file_sent_for_a_text_field_gets_an_answer_not_a_server_error(client, path, fields, text_field):
    token = TOKEN.search(client.get(path).text)
    assert token, f"{path} should have a form with a hidden csrf_token field"
    data = {"csrf_token": token.group(1), **fields, text_field: (io.BytesIO(b"a file, not text"), "note.txt")}
    response = client.post(path, data=data, content_type="multipart/form-data")
    assert response.status_code < 500, (
        f"A form sent with a file in its '{text_field}' field should get the form again with an error, "
        f"never a server error (got {response.status_code})"
    )
    return response


def a_request_body_over_the_limit_is_refused_with_413(client, path):
    response = client.post(path, data={"text": "x" * 2_000_000})
    assert response.status_code == 413, (
        f"A 2 MB request body should be refused with 413 Request Entity Too Large before the app reads it "
        f"(set MAX_CONTENT_LENGTH), but the answer was {response.status_code}"
    )


def pages_carry_the_secure_defaults(client, form_page):
    response = client.get(form_page)
    assert response.status_code == 200, f"GET {form_page} should answer 200, not {response.status_code}"
    assert response.headers.get("X-Content-Type-Options") == "nosniff", (
        "Every answer should carry X-Content-Type-Options: nosniff, so a browser never guesses a file is a script"
    )
    frame = response.headers.get("X-Frame-Options", "").upper()
    ancestors = "frame-ancestors" in response.headers.get("Content-Security-Policy", "")
    assert frame in ("DENY", "SAMEORIGIN") or ancestors, (
        "Every page should forbid other sites to frame it (X-Frame-Options: DENY, or CSP frame-ancestors), "
        "or a page could be shown invisibly on top of another site and clicked through"
    )
    cookie = response.headers.get("Set-Cookie", "")
    assert cookie, f"GET {form_page} should set the session cookie (its CSRF token lives there)"
    assert "samesite=lax" in cookie.lower() or "samesite=strict" in cookie.lower(), (
        f"The session cookie should be SameSite=Lax (SESSION_COOKIE_SAMESITE), so no other site's form post "
        f"carries it; it was: {cookie}"
    )
