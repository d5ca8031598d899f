"""Checks stages 4 to 7 share: settings read as the text they are, only the stage's own .env,
and requests a hostile client sends (a file for a text field, a huge body) answered, never a 500.

Each stage's test file has its own test functions (their names are the grader's checks) and
calls these with what differs: where its form is and which field holds the text.

Every check here observes the app from outside (it is a server in its own sandbox): what it
answers, the cookies it sets, what it printed, whether it started at all. ``start_app`` (a
fixture) builds one more app of the stage the way a check needs it.
"""
import io
import re
import shutil
from types import SimpleNamespace

from flask.sessions import SecureCookieSessionInterface

from support.remote import session_data

# Each would be a number, a boolean, a list or None if the app let Flask guess with json.loads.
SECRET_KEYS_THAT_LOOK_LIKE_JSON = ["123456", "true", "1e3", "[1,2]", "0", "null", "false"]
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def stage_copy(stage_folder, tmp_path):
    """A copy of the stage inside a parent folder of its own, with no .env."""
    copy = tmp_path / "parent" / stage_folder.name
    shutil.copytree(stage_folder, copy, ignore=shutil.ignore_patterns(".env", "__pycache__", "instance"))
    return copy


# --- What a browser sees of the app: its cookies, its forms ----------------------------------------

def cookies(client):
    """The cookies a client holds, {name: value}: what its browser would send the app."""
    header = client.cookie_header()["Cookie"]
    return dict(part.split("=", 1) for part in header.split("; ") if "=" in part)


def session_contents(client):
    """What the app keeps in the client's session cookie (signed, not secret: anyone can read it); {} if none."""
    reader = SecureCookieSessionInterface().get_signing_serializer(
        SimpleNamespace(secret_key="any key: this only reads", config={"SECRET_KEY_FALLBACKS": None}))
    for value in cookies(client).values():
        _valid, data = reader.loads_unsafe(value)
        if isinstance(data, dict):
            return data
    return {}


def signed_with(client, secret_key):
    """Whether a cookie the client got from the app is a session signed with secret_key."""
    return any(session_data(value, secret_key) is not None for value in cookies(client).values())


def page_token(client, path):
    """Open the page at path as a browser does: the CSRF token of its form."""
    response = client.get(path)
    assert response.status_code == 200, f"GET {path} should answer 200, not {response.status_code}"
    token = TOKEN.search(response.text)
    assert token, f"{path} should have a form with a hidden csrf_token field"
    return token.group(1)


def a_form_from_one_start_sent_to_another(first, second, path, fields):
    """A browser opens the form at path on the app `first`, then sends it, its cookies and token
    included, to the app `second` (a restarted server, say). The answer's status."""
    browser = first.client()
    token = page_token(browser, path)
    other = second.client()
    for name, value in cookies(browser).items():
        other.set_cookie(name, value)
    return other.post(path, data={**fields, "csrf_token": token}).status_code


def sends_its_own_form(started, path, fields):
    """The status of the app's answer to its own form, sent as a browser sends it."""
    browser = started.client()
    token = page_token(browser, path)
    return browser.post(path, data={**fields, "csrf_token": token}).status_code


def warnings_in(output):
    """The lines of an app's output that report a warning or worse, whatever the log format."""
    return [line for line in output.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]


def started_or_fail(started, how):
    """The app start_app built, failing the check with the reason when it could not start."""
    assert started.error is None, f"The app should start {how}, but it could not:\n  {started.error}"
    return started


# --- Settings: read as the text they are, only from the stage's own .env ----------------------------

def settings_read_as_text(start_app, stage_env, form_page):
    for key in SECRET_KEYS_THAT_LOOK_LIKE_JSON:
        # As `flask run` builds it (no test config): a key Flask cannot use answers 500, as it would there.
        started = started_or_fail(start_app(env={**stage_env, "FLASK_SECRET_KEY": key}, config=None),
                                  f"with FLASK_SECRET_KEY={key}")
        client = started.client()
        status = client.get(form_page).status_code
        assert signed_with(client, key), (
            f"FLASK_SECRET_KEY={key} should give the key '{key}' as text, but the session cookie of {form_page} "
            "is not signed with it: read the settings with app.config.from_prefixed_env(loads=str)"
        )
        assert status == 200, f"With FLASK_SECRET_KEY={key} the page {form_page} should answer 200, not {status}"


def why_it_did_not_start(start_app, **how):
    """The reason start_app gives when the app built as asked does not start (None: it started)."""
    return start_app(**how).error


def a_bad_setting_stops_the_start(start_app, stage_env):
    error = why_it_did_not_start(start_app, env={**stage_env, "FLASK_MAX_CONTENT_LENGTH": "a lot"})
    assert error is not None and "FLASK_MAX_CONTENT_LENGTH" in error, (
        "FLASK_MAX_CONTENT_LENGTH='a lot' should stop the app at start with a message naming "
        f"FLASK_MAX_CONTENT_LENGTH, not {error or 'start as if nothing were wrong'}"
    )


def only_the_own_dotenv_is_read(start_app, stage_env, stage_folder, tmp_path, form_page):
    copy = stage_copy(stage_folder, tmp_path)
    (copy.parent / ".env").write_text("FLASK_SECRET_KEY=from-a-parent-folder\n", "utf-8")
    no_key = {name: value for name, value in stage_env.items() if name != "FLASK_SECRET_KEY"}
    client = started_or_fail(start_app(env=no_key, folder=copy), "from a folder whose parent has a .env").client()
    status = client.get(form_page).status_code
    assert status == 200, f"With a .env in a parent folder the page {form_page} should answer 200, not {status}"
    assert not signed_with(client, "from-a-parent-folder"), (
        "A .env in a parent folder of the stage must not be read: give load_dotenv() the path of the "
        "stage's own .env, instead of letting it search the folders above"
    )
    (copy / ".env").write_text("FLASK_SECRET_KEY=from-the-stage-folder\n", "utf-8")
    client = started_or_fail(start_app(env=no_key, folder=copy), "with a .env in its own folder").client()
    client.get(form_page)
    assert signed_with(client, "from-the-stage-folder"), "The .env in the stage's own folder should be read"


# --- Hostile requests ---------------------------------------------------------------------------------

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
