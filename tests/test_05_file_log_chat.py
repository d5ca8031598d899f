"""Stage 5: an app factory, a Blueprint, and two chat clients that each keep their own log."""
import http.cookiejar
import json
import logging
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from markupsafe import escape
from support.loader import StageLoadError, load_app

STAGE = 5

# The contract's log line: <ISO time to the second> <role> <text as a JSON string>
LOG_LINE = re.compile(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d) (user|attendant) (".*")')
TOKEN = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|<input[^>]*value="([^"]+)"[^>]*name="csrf_token"')

# Messages that try to break out of their line or pass for another role's line.
TRICKY = [
    'hello "you"',
    "first line\nsecond line",
    'ok"\n2026-01-01T00:00:00 attendant "I am the attendant, send me your password',
    '2026-01-01T00:00:00 attendant "forged"',
    "back\\slash and \\n that is not a newline",
    "carriage\rreturn and tab\t",
    "line\u2028separator",
    "paragraph\u2029separator",
    "next\x85line",
    "vertical\x0btab and form\x0cfeed",
    "unicode: olá, 你好, 🙂",
    "  spaces around  ",
]


def csrf_token(page):
    found = TOKEN.search(page)
    assert found, 'The page should contain a form with a hidden <input name="csrf_token" value="...">'
    return found.group(1) or found.group(2)


def send(client, role, text, **kwargs):
    """Do what a browser does: open the page, then submit its form with the token it contains."""
    token = csrf_token(client.get(f"/{role}").text)
    return client.post(f"/{role}", data={"csrf_token": token, "text": text}, **kwargs)


def build(stage_folder, test_config=None):
    """create_app(test_config) from the stage's package; a failure is reported as one clear sentence."""
    try:
        return load_app(stage_folder, test_config)
    except StageLoadError as error:
        pytest.fail(f"The stage 5 app in {stage_folder} could not be built:\n  {error}", pytrace=False)


def read_log(path):
    """The messages in a log file as (role, text) pairs, checking every line has the contract's format."""
    if not path.exists():
        return []
    content = path.read_bytes().decode("utf-8")
    assert content.endswith("\n"), f"Every line of {path.name} should end with a newline"
    messages = []
    for line in content.split("\n")[:-1]:
        match = LOG_LINE.fullmatch(line)
        assert match, f"This line of {path.name} is not '<time> <role> <JSON string>': {line!r}"
        messages.append((match.group(2), json.loads(match.group(3))))
    return messages


# --- The new structure: an app package with a factory and a Blueprint -------------------------

def test_the_app_is_a_package_built_by_create_app(stage_folder, stage_env, log_dir):
    assert (stage_folder / "app" / "__init__.py").is_file(), "Stage 5 keeps its code in a package: app/__init__.py"
    assert (stage_folder / "app" / "routes.py").is_file(), "The routes live in app/routes.py"
    first, module = build(stage_folder, {"TESTING": True, "LOG_DIR": str(log_dir)})
    assert hasattr(module, "create_app"), "app/__init__.py should define create_app(test_config=None)"
    second, _ = build(stage_folder, {"TESTING": True, "LOG_DIR": str(log_dir)})
    assert first is not second, "Each call of create_app() should build a new app"
    assert first.blueprints, "The routes should come from a Blueprint registered by create_app()"


def test_create_app_takes_settings_from_the_environment(stage_folder, stage_env, log_dir):
    app, _ = build(stage_folder)
    assert app.config["LOG_DIR"] == str(log_dir), "FLASK_LOG_DIR in the environment should become LOG_DIR"
    assert app.config["SECRET_KEY"] == stage_env["FLASK_SECRET_KEY"], (
        "FLASK_SECRET_KEY in the environment should become SECRET_KEY"
    )


def test_test_config_wins_over_the_environment(stage_folder, stage_env, tmp_path):
    other = tmp_path / "other-logs"
    app, _ = build(stage_folder, {"TESTING": True, "LOG_DIR": str(other)})
    assert app.config["LOG_DIR"] == str(other), "create_app(test_config) should override the environment"


def test_a_missing_log_folder_is_created(stage_folder, stage_env, tmp_path):
    folder = tmp_path / "not" / "there" / "yet"
    build(stage_folder, {"TESTING": True, "LOG_DIR": str(folder)})
    assert folder.is_dir(), "create_app() should create the log folder when it is missing"


def test_without_a_secret_key_the_app_warns_and_picks_a_random_one(stage_folder, stage_env, log_dir,
                                                                    monkeypatch, caplog):
    monkeypatch.setenv("FLASK_SECRET_KEY", "")  # set but empty, so no .env file can fill it in
    with caplog.at_level(logging.WARNING):
        first, _ = build(stage_folder, {"LOG_DIR": str(log_dir)})
        second, _ = build(stage_folder, {"LOG_DIR": str(log_dir)})
    assert first.config["SECRET_KEY"], "With no FLASK_SECRET_KEY the app should still get a secret key"
    assert first.config["SECRET_KEY"] != second.config["SECRET_KEY"], "That key should be random, not fixed in code"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "SECRET_KEY" in r.getMessage()]
    assert len(warnings) == 2, "Each app built without a key should log one warning that names FLASK_SECRET_KEY"


# --- Pages ---------------------------------------------------------------------------------------

def test_home_page_links_to_both_clients(client):
    response = client.get("/")
    assert response.status_code == 200, f"GET / should answer 200, but answered {response.status_code}"
    assert 'href="/user"' in response.text, "The home page should link to the user's client at /user"
    assert 'href="/attendant"' in response.text, "The home page should link to the attendant's client at /attendant"


@pytest.mark.parametrize("role", ["user", "attendant"])
def test_each_client_shows_a_message_form_in_the_shared_layout(client, role):
    response = client.get(f"/{role}")
    assert response.status_code == 200, f"GET /{role} should answer 200, but answered {response.status_code}"
    page = response.text
    assert "<form" in page and 'name="text"' in page, f"/{role} should show a form with a text field named 'text'"
    csrf_token(page)
    assert "<nav" in page and "/static/style.css" in page, f"/{role} should use the layout (nav and style.css)"
    with client.get("/static/style.css") as stylesheet:
        assert stylesheet.status_code == 200, "The stylesheet should be served from app/static"


@pytest.mark.parametrize("path", ["/manager", "/users", "/User", "/user/1", "/../user"])
def test_an_unknown_role_is_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404, f"GET {path} should be 404 Not Found, but answered {response.status_code}"


# --- Sending ---------------------------------------------------------------------------------------

def test_sending_appends_one_line_to_that_clients_log_and_redirects(client, log_dir):
    response = send(client, "user", "Hello, I need help")
    assert response.status_code == 302, f"A sent message should redirect (Post/Redirect/Get), got {response.status_code}"
    assert response.headers["Location"] == "/user", "After sending, the redirect should lead back to /user"
    assert read_log(log_dir / "user.log") == [("user", "Hello, I need help")], (
        "user.log should hold exactly one line for the message, with the role 'user'"
    )


def test_after_the_redirect_the_page_shows_the_message_and_a_flash(client):
    response = send(client, "attendant", "How can I help?", follow_redirects=True)
    assert response.status_code == 200, f"The page after sending should answer 200, got {response.status_code}"
    assert "How can I help?" in response.text, "The attendant's page should show the message just sent"
    assert 'class="flash"' in response.text, "A flashed message should confirm that the message was sent"


def test_the_two_clients_do_not_see_each_other(client, log_dir):
    send(client, "user", "Is anybody there?")
    send(client, "attendant", "Hello, I am here")
    assert read_log(log_dir / "user.log") == [("user", "Is anybody there?")], "user.log should hold only the user's message"
    assert read_log(log_dir / "attendant.log") == [("attendant", "Hello, I am here")], (
        "attendant.log should hold only the attendant's message"
    )
    assert "Is anybody there?" not in client.get("/attendant").text, "In stage 5 the attendant cannot see the user"
    assert "Hello, I am here" not in client.get("/user").text, "In stage 5 the user cannot see the attendant"


@pytest.mark.parametrize("text", ["", "   ", "\t\n "])
def test_an_empty_message_shows_an_error_and_writes_nothing(client, log_dir, text):
    response = send(client, "user", text)
    assert response.status_code == 200, f"An empty message should show the form again, got {response.status_code}"
    assert "Type a message first" in response.text, "An empty message should show the error 'Type a message first'"
    assert read_log(log_dir / "user.log") == [], "An empty message should write nothing to the log"


def test_a_message_over_the_limit_shows_an_error_naming_the_limit_and_writes_nothing(client, log_dir):
    response = send(client, "user", "x" * 501)
    assert response.status_code == 200, f"A too-long message should show the form again, got {response.status_code}"
    assert "500" in response.text and 'class="error"' in response.text, "The error should say the limit: 500 characters"
    assert read_log(log_dir / "user.log") == [], "A too-long message should write nothing to the log"


def test_a_message_of_exactly_500_characters_is_sent(client, log_dir):
    send(client, "user", "é" * 500)
    assert read_log(log_dir / "user.log") == [("user", "é" * 500)], "500 characters is within the limit"


def test_a_post_without_the_csrf_token_writes_nothing(client, log_dir):
    response = client.post("/user", data={"text": "sent by another site"})
    assert response.status_code in (200, 400), f"A post without the CSRF token should be refused, got {response.status_code}"
    assert read_log(log_dir / "user.log") == [], "A post without the CSRF token should write nothing"


def test_odd_requests_get_an_answer_not_a_server_error(client, log_dir):
    token = csrf_token(client.get("/user").text)
    odd = [
        client.post("/user", data={"csrf_token": token}),  # no text field at all
        client.post("/user", data={"csrf_token": token, "text": ["one", "two"]}),
        client.post("/user", data=b"csrf_token=" + token.encode() + b"&text=%FF%FE",
                    content_type="application/x-www-form-urlencoded"),
        client.post("/user", json={"csrf_token": token, "text": "json"}),
        client.put("/user"),
    ]
    for response in odd:
        assert response.status_code < 500, f"An odd request should never crash the app (got {response.status_code})"
    for role, text in read_log(log_dir / "user.log"):
        assert role == "user" and isinstance(text, str), "Whatever was written must still be a well-formed line"


# --- What the log holds is exactly what was sent ---------------------------------------------------

def test_messages_are_shown_as_text_not_run_as_html(client):
    response = send(client, "user", "<script>alert(1)</script>", follow_redirects=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text, "The message should be shown literally"
    assert "<script>alert(1)</script>" not in response.text, "A message must never become HTML on the page"


@pytest.mark.parametrize("text", TRICKY)
def test_a_message_cannot_forge_a_log_line(client, log_dir, text):
    send(client, "user", text)
    assert read_log(log_dir / "user.log") == [("user", text)], (
        f"{text!r} should be stored as exactly one 'user' line that reads back as the same text"
    )
    assert str(escape(text)) in client.get("/user").text, f"The page should show {text!r} exactly as it was sent"


def test_the_log_reads_back_every_message_in_order(client, log_dir):
    for text in TRICKY:
        send(client, "attendant", text)
    assert read_log(log_dir / "attendant.log") == [("attendant", t) for t in TRICKY], (
        "Reading attendant.log back should give exactly the messages sent, in order"
    )
    page = client.get("/attendant").text
    positions = [page.find(str(escape(text))) for text in TRICKY]
    assert -1 not in positions and positions == sorted(positions), "The page should list every message, oldest first"


# --- A real server, many clients at once -------------------------------------------------------------

class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # report the 302 instead of following it


class Browser:
    """One client with its own cookies, like one browser window."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _KeepRedirects)

    def get(self, path):
        with self.opener.open(self.base_url + path, timeout=60) as response:
            return response.read().decode("utf-8")

    def post(self, path, fields):
        data = urllib.parse.urlencode(fields).encode("utf-8")
        try:
            with self.opener.open(self.base_url + path, data=data, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            with error:
                return error.code


CLIENTS, MESSAGES_EACH = 50, 20


def test_fifty_clients_sending_at_once_leave_exactly_one_line_per_message(live_server, log_dir):
    everyone_ready = threading.Barrier(CLIENTS, timeout=60)

    def one_client(number):
        role = ("user", "attendant")[number % 2]
        browser = Browser(live_server.url)
        token = csrf_token(browser.get(f"/{role}"))
        texts = [f'client {number} message {m}: "quoted"\nfake\u2028{role} "line"' for m in range(MESSAGES_EACH)]
        everyone_ready.wait()  # all clients start sending together
        statuses = [browser.post(f"/{role}", {"csrf_token": token, "text": text}) for text in texts]
        return role, texts, statuses

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(one_client, range(CLIENTS)))

    sent = {"user": [], "attendant": []}
    for role, texts, statuses in results:
        assert set(statuses) == {302}, f"Every message should be accepted (302), got {sorted(set(statuses))}"
        sent[role] += texts
    total = 0
    for role in ("user", "attendant"):
        stored = read_log(log_dir / f"{role}.log")
        total += len(stored)
        assert sorted(stored) == sorted((role, text) for text in sent[role]), (
            f"{role}.log should hold exactly the {len(sent[role])} messages its clients sent, each on one intact line"
        )
    assert total == CLIENTS * MESSAGES_EACH, (
        f"{CLIENTS} clients x {MESSAGES_EACH} messages should leave {CLIENTS * MESSAGES_EACH} lines, found {total}"
    )
