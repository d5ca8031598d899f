"""What stages 4 to 7's checks see of an app from outside (it is a server in its own sandbox):
the cookies it sets, what it printed, whether it started at all, and its answer to a hostile form.
``start_app`` (a fixture) builds one more app of the stage the way a check needs it.
"""
import io
import re
import shutil
from types import SimpleNamespace

from flask.sessions import SecureCookieSessionInterface

from stages import not_copied
from support.remote import csrf_token, session_data


def stage_copy(stage_folder, tmp_path):
    """A copy of the stage inside a parent folder of its own, with none of its local files (.env)."""
    copy = tmp_path / "parent" / stage_folder.name
    shutil.copytree(stage_folder, copy, ignore=not_copied())
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
    return csrf_token(response.text, path)


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
    return started.client().post_form(path, fields).status_code


def warnings_in(output):
    """The lines of an app's output that report a warning or worse, whatever the log format."""
    return [line for line in output.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]


def started_or_fail(started, how):
    """The app start_app built, failing the check with the reason when it could not start."""
    assert started.error is None, f"The app should start {how}, but it could not:\n  {started.error}"
    return started


# --- Hostile requests ---------------------------------------------------------------------------------

def a_file_sent_for_a_text_field_gets_an_answer_not_a_server_error(client, path, fields, text_field):
    response = client.post_form(path, {**fields, text_field: (io.BytesIO(b"a file, not text"), "note.txt")},
                                content_type="multipart/form-data")
    assert response.status_code < 500, (
        f"A form sent with a file in its '{text_field}' field should get the form again with an error, "
        f"never a server error (got {response.status_code})"
    )
    return response
