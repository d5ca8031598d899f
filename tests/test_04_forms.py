"""Stage 4: a login form with Flask-WTF (validators, CSRF token, redirect and flash), and a secret key from the environment."""
import re
from html.parser import HTMLParser

from support import hostile
from support.hostile import session_contents, signed_with
from support.remote import csrf_token as page_token

STAGE = 4
LOGIN = "/login"


class FormParts(HTMLParser):
    """The inputs of a page, in order, with what follows each one (to find its error message)."""

    def __init__(self, html):
        super().__init__()
        self.inputs = {}  # name -> attributes
        self.order = []  # input names in page order
        self.forms = []  # attributes of each <form>
        self.flashes = []
        self._in_flash = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            self.inputs[attrs["name"]] = attrs
            self.order.append(attrs["name"])
        elif tag == "form":
            self.forms.append(attrs)
        elif "flash" in (attrs.get("class") or "").split():
            self._in_flash = True
            self.flashes.append("")

    def handle_endtag(self, tag):
        self._in_flash = False

    def handle_data(self, data):
        if self._in_flash:
            self.flashes[-1] += data


def errors_after(html, field, next_field):
    """The text of the error elements between the input named ``field`` and the one named ``next_field``."""
    start = re.search(rf'<input[^>]*name="{field}"', html)
    end = re.search(rf'<input[^>]*name="{next_field}"', html)
    assert start and end, f"The login page should have inputs named {field!r} and {next_field!r}"
    between = html[start.end():end.start()]
    return re.findall(r'class="[^"]*\berror\b[^"]*"[^>]*>([^<]*)<', between)


def get_login_page(client):
    response = client.get(LOGIN)
    assert response.status_code == 200, f"GET {LOGIN} should show the login form (200), but answered {response.status_code}"
    return response.text


def csrf_token(client):
    """Read the CSRF token from the login page, as a browser would."""
    return page_token(get_login_page(client), "The login form")


def flashed(client):
    """The messages flashed for the next page: they wait in the session cookie the app set."""
    return session_contents(client).get("_flashes", [])


def without_a_key(stage_env):
    """The test environment with no FLASK_SECRET_KEY in it."""
    return {name: value for name, value in stage_env.items() if name != "FLASK_SECRET_KEY"}


def test_login_page_shows_the_form_with_a_csrf_token(client):
    """Render the form's fields in the template, with {{ form.hidden_tag() }} inside the <form>."""
    page = FormParts(get_login_page(client))
    assert any((form.get("method") or "").lower() == "post" for form in page.forms), (
        'The login page should have a <form method="post">'
    )
    for name, kind in [("username", "text"), ("password", "password"), ("remember_me", "checkbox")]:
        assert name in page.inputs, f'The login form should have an input named "{name}"'
        assert page.inputs[name].get("type") == kind, f'The "{name}" input should have type="{kind}"'
    assert any(attrs.get("type") == "submit" for attrs in page.inputs.values()), "The login form should have a submit button"
    csrf_token(client)


def test_the_nav_links_to_the_login_page(client):
    """Add the login page to the <nav> in base.html with url_for('login')."""
    nav = client.get("/").text.split("<nav>", 1)[-1].split("</nav>", 1)[0]
    assert f'href="{LOGIN}"' in nav, f"The <nav> in base.html should link to {LOGIN} (url_for('login'))"


def test_a_post_without_the_csrf_token_is_refused_and_flashes_nothing(client):
    """CSRFProtect(app) refuses any POST without a valid token with 400; never switch CSRF off to make a form
    work."""
    response = client.post(LOGIN, data={"username": "ana", "password": "secret"})
    assert response.status_code == 400, (
        f"A POST without the CSRF token should be refused with 400 Bad Request, but got {response.status_code}:"
        " a form posted from another site must not be accepted"
    )
    assert flashed(client) == [], "A refused POST should flash nothing"
    assert FormParts(client.get("/").text).flashes == [], "After a refused POST no message should be shown"


def test_a_refused_form_gets_a_400_page_that_says_what_happened(client):
    """Look at the CSRFError handler that hardening.init_app registers: the template it renders, the reason it
    shows and its status."""
    response = client.post(LOGIN, data={"username": "ana", "password": "secret"})
    assert response.status_code == 400, f"A POST without the CSRF token should answer 400, not {response.status_code}"
    assert "<nav" in response.text and "CSRF token" in response.text, (
        "The refusal should be a page of the site (400.html, extending base.html) that gives Flask-WTF's reason: "
        "@app.errorhandler(CSRFError) renders it with error.description")


def test_a_post_with_a_wrong_csrf_token_is_refused(client):
    """CSRFProtect(app) checks the token's signature against the secret key; keep it on."""
    response = client.post(LOGIN, data={"username": "ana", "password": "secret", "csrf_token": "made-up"})
    assert response.status_code == 400, (
        f"A POST with a made-up CSRF token should be refused with 400 Bad Request, but got {response.status_code}"
    )


def test_an_empty_form_shows_an_error_next_to_each_field(client):
    """After a failed validate_on_submit(), render the form again and show each field's errors right after its
    input."""
    response = client.post(LOGIN, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 200, (
        f"An empty form should come back with its errors (200), not {response.status_code}"
    )
    assert errors_after(response.text, "username", "password"), (
        "An empty username should show an error right after the username input"
        " ({% for error in form.username.errors %})"
    )
    assert errors_after(response.text, "password", "remember_me"), (
        "An empty password should show an error right after the password input"
    )
    assert flashed(client) == [], "A form with errors should flash nothing"


def test_a_too_short_username_is_an_error_and_the_typed_name_is_kept(client):
    """Give the field its validators (DataRequired, Length(min=3, ...)) and render it with {{ form.username() }}
    so it keeps what was typed."""
    response = client.post(LOGIN, data={"username": "al", "password": "secret", "csrf_token": csrf_token(client)})
    assert response.status_code == 200, f"A form with an error should come back (200), not {response.status_code}"
    errors = errors_after(response.text, "username", "password")
    assert errors and "3" in errors[0], (
        f"A 2-letter username should get a length error naming the minimum of 3 characters; errors shown: {errors}"
    )
    page = FormParts(response.text)
    assert page.inputs["username"].get("value") == "al", "The form should keep what the visitor typed as username"
    assert not page.inputs["password"].get("value"), "The password must never be sent back in the page"


def test_a_valid_form_redirects_and_flashes_a_welcome_once(client):
    """On success: flash(...) then return redirect(url_for('index')); base.html shows get_flashed_messages()."""
    response = client.post(LOGIN, data={"username": "ana", "password": "secret", "csrf_token": csrf_token(client)})
    assert response.status_code in (302, 303), (
        f"A valid form should answer with a redirect (302), not {response.status_code}:"
        " post/redirect/get, so reloading the page does not send the form again"
    )
    target = response.headers["Location"]
    assert target == "/", f"After logging in the visitor should be sent to the home page /, not {target}"
    flashes = FormParts(client.get(target).text).flashes
    assert len(flashes) == 1 and "ana" in flashes[0], (
        f'The page after logging in should show one flashed message (class="flash") naming ana; shown: {flashes}'
    )
    assert FormParts(client.get(target).text).flashes == [], "A flashed message should be shown once only"


def test_the_secret_key_comes_from_the_environment(client, stage_env):
    """app.config.from_prefixed_env() turns FLASK_SECRET_KEY into SECRET_KEY; no key in the code."""
    client.get(LOGIN)  # the form keeps its CSRF token in the session cookie, signed with the key
    assert signed_with(client, stage_env["FLASK_SECRET_KEY"]), (
        "With FLASK_SECRET_KEY set in the environment, app.config['SECRET_KEY'] should be its value:"
        " call app.config.from_prefixed_env() (the session cookie the app set is not signed with it)"
    )


def test_the_secret_key_can_come_from_a_dotenv_file(start_app, stage_folder, stage_env, tmp_path):
    """Call load_dotenv() before app.config.from_prefixed_env()."""
    copy = hostile.stage_copy(stage_folder, tmp_path)
    (copy / ".env").write_text("FLASK_SECRET_KEY=key-from-the-dotenv-file\n", encoding="utf-8")
    # Started in its folder, as `flask --app app run` is.
    started = hostile.started_or_fail(start_app(env=without_a_key(stage_env), folder=copy),
                                      "with its secret key in a .env file")
    client = started.client()
    client.get(LOGIN)
    assert signed_with(client, "key-from-the-dotenv-file"), (
        "With FLASK_SECRET_KEY in a .env file next to app.py, the app should use it: call load_dotenv()"
        " before app.config.from_prefixed_env()"
    )


def test_without_a_secret_key_the_app_starts_with_a_random_key_and_one_warning(start_app, stage_folder, stage_env,
                                                                                tmp_path):
    """With no key configured: secrets.token_urlsafe() and one app.logger.warning naming FLASK_SECRET_KEY."""
    copy = hostile.stage_copy(stage_folder, tmp_path)
    starts = []
    for _ in range(2):
        started = hostile.started_or_fail(start_app(env=without_a_key(stage_env), folder=copy),
                                          "with no FLASK_SECRET_KEY (and no .env)")
        warnings = hostile.warnings_in(started.output())
        assert len(warnings) == 1, (
            f"With no FLASK_SECRET_KEY (and no .env) the app should log exactly one warning; it logged {len(warnings)}"
        )
        assert "FLASK_SECRET_KEY" in warnings[0], "The warning should tell how to fix it by naming FLASK_SECRET_KEY"
        status = hostile.sends_its_own_form(started, LOGIN, {"username": "ana", "password": "secret"})
        assert status in (302, 303), (
            f"With a random key the login form should still work and carry a CSRF token; a good form got {status}"
        )
        starts.append(started)
    status = hostile.a_form_from_one_start_sent_to_another(*starts, LOGIN, {"username": "ana", "password": "secret"})
    assert status == 400, (
        "Each start without a configured key should make a new random key, not a fixed one"
        f" (secrets.token_urlsafe()): a form from one start was accepted by the next ({status})"
    )


def test_env_example_is_committed_with_no_secret_in_it(stage_folder):
    """Commit .env.example listing FLASK_SECRET_KEY= with no value; keep the real .env out of git."""
    example = stage_folder / ".env.example"
    assert example.is_file(), "The stage should include .env.example, showing which settings exist"
    settings = dict(
        line.split("=", 1) for line in example.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    assert "FLASK_SECRET_KEY" in settings, ".env.example should list FLASK_SECRET_KEY="
    assert settings["FLASK_SECRET_KEY"].strip() == "", (
        ".env.example must not contain a key: leave FLASK_SECRET_KEY= empty, each person makes their own"
    )


# --- Hostile requests: an answer, never a 500 -------------------------------------

def test_a_file_sent_as_the_username_gets_the_form_again_not_a_server_error(client):
    """Look at how the form is built from the request: a FlaskForm reads request.form, where a file is never a
    username."""
    response = hostile.a_file_sent_for_a_text_field_gets_an_answer_not_a_server_error(
        client, LOGIN, {"password": "secret"}, "username")
    assert response.status_code == 200 and 'class="error"' in response.text, (
        "A file sent as the username should get the login form again, with an error at the username"
    )


def test_a_dotenv_in_a_parent_folder_cannot_turn_on_the_debugger(start_app, stage_folder, tmp_path):
    """Look at the load_dotenv() call: without a path it searches the folders above the stage too."""
    copy = hostile.stage_copy(stage_folder, tmp_path)
    (copy.parent / ".env").write_text("FLASK_DEBUG=1\n", "utf-8")
    started = hostile.started_or_fail(start_app(folder=copy), "from a folder whose parent has a .env")
    client = started.client()
    assert client.get("/").status_code == 200, "The stage should answer"
    # The debugger serves its own files at any URL; without it this URL is not found.
    debugger = client.get("/no-such-page?__debugger__=yes&cmd=resource&f=debugger.js").status_code
    assert debugger == 404 and "Debug mode: on" not in started.output() and "Debugger" not in started.output(), (
        "FLASK_DEBUG=1 in a .env of a parent folder turned on the debugger: the stage must read only "
        "its own .env (give load_dotenv() its path)"
    )


def test_the_int_converter_refuses_numbers_over_its_max(client):
    """Look at the /square route's converter: stage 3 gave <int:...> its max."""
    status = client.get("/square/" + "9" * 5000).status_code
    assert status == 404, (
        f"GET /square/999... (5,000 digits) should be 404 Not Found, not {status}: keep stage 3's "
        "<int(max=999999999):number>")


