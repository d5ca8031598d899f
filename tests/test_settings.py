"""Settings read as the text they are, only the stage's own .env, and what a hostile client sends
(a huge body) answered, never a 500: the same checks for every stage with a secret key (4 to 7)."""
import pytest

from support.hostile import signed_with, stage_copy, started_or_fail

# The page whose form each stage's checks open (it sets the session cookie, its CSRF token inside).
FORM_PAGE = {4: "/login", 5: "/user", 6: "/user", 7: "/user"}
# Each would be a number, a boolean, a list or None if the app let Flask guess with json.loads.
SECRET_KEYS_THAT_LOOK_LIKE_JSON = ["123456", "true", "1e3", "[1,2]", "0", "null", "false"]


@pytest.mark.stages(4, 5, 6, 7)
def test_settings_are_read_as_the_text_they_are(start_app, stage_env, stage):
    """Look at how the app reads its FLASK_* settings: from_prefixed_env() guesses JSON unless told loads=str."""
    form_page = FORM_PAGE[stage]
    for key in SECRET_KEYS_THAT_LOOK_LIKE_JSON:
        # As `flask run` builds it (no test config): a key Flask cannot use answers 500, as it would there.
        started = started_or_fail(start_app(env={**stage_env, "FLASK_SECRET_KEY": key}),
                                  f"with FLASK_SECRET_KEY={key}")
        client = started.client()
        status = client.get(form_page).status_code
        assert signed_with(client, key), (
            f"FLASK_SECRET_KEY={key} should give the key '{key}' as text, but the session cookie of {form_page} "
            "is not signed with it: read the settings with app.config.from_prefixed_env(loads=str)"
        )
        assert status == 200, f"With FLASK_SECRET_KEY={key} the page {form_page} should answer 200, not {status}"


@pytest.mark.stages(4, 5, 6, 7)
def test_a_bad_setting_stops_the_app_at_start_naming_it(start_app, stage_env):
    """Look at where hardening.init_app reads MAX_CONTENT_LENGTH, and at what it does with a value that is not a
    number of bytes."""
    error = start_app(env={**stage_env, "FLASK_MAX_CONTENT_LENGTH": "a lot"}).error
    assert error is not None and "FLASK_MAX_CONTENT_LENGTH" in error, (
        "FLASK_MAX_CONTENT_LENGTH='a lot' should stop the app at start with a message naming "
        f"FLASK_MAX_CONTENT_LENGTH, not {error or 'start as if nothing were wrong'}"
    )


@pytest.mark.stages(4, 5, 6, 7)
def test_only_the_stages_own_dotenv_is_read(start_app, stage_env, stage_folder, tmp_path, stage):
    """Look at the load_dotenv() call: without a path it searches the folders above the stage too."""
    form_page = FORM_PAGE[stage]
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


@pytest.mark.stages(4, 5, 6, 7)
def test_a_request_body_over_the_limit_is_refused_with_413(client, stage):
    """Look at hardening.init_app and whether the app calls it: MAX_CONTENT_LENGTH bounds a request's body."""
    response = client.post(FORM_PAGE[stage], data={"text": "x" * 2_000_000})
    assert response.status_code == 413, (
        f"A 2 MB request body should be refused with 413 Request Entity Too Large before the app reads it "
        f"(set MAX_CONTENT_LENGTH), but the answer was {response.status_code}"
    )


@pytest.mark.stages(4, 5, 6, 7)
def test_pages_carry_the_secure_defaults(client, stage):
    """Look at hardening.py and whether the app calls init_app: the nosniff and framing headers on every answer,
    and SESSION_COOKIE_SAMESITE."""
    form_page = FORM_PAGE[stage]
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
