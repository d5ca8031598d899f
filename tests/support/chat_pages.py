"""The chat pages of stages 5 and 6, as their tests see them.

Both stages show a form at /user and /attendant, protect it with a CSRF token, refuse
messages over 500 characters and write each message as one log line in the same format.
What differs is the file: in stage 5 each role writes its own (user.log, attendant.log),
in stage 6 both write chat.log. So each stage's test file keeps its own test functions
(their names are the grader's checks) and calls the checks here with the log file that
stage writes: every message a student reads then names the file of the stage at hand.
"""
import errno
import http.cookiejar
import json
import os
import re
import resource
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from markupsafe import escape

from stages import parse_log_line

ROLES = ("user", "attendant")
LIMIT = 500  # characters in one message

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

UNKNOWN_ROLE_PATHS = ["/manager", "/users", "/User", "/user/1", "/../user"]
EMPTY_TEXTS = ["", "   ", "\t\n "]


# --- Helpers: what a browser does, and what a log holds -------------------------------------------

def csrf_token(page):
    found = TOKEN.search(page)
    assert found, 'The page should contain a form with a hidden <input name="csrf_token" value="...">'
    return found.group(1) or found.group(2)


def send(client, role, text, **kwargs):
    """Do what a browser does: open the page, then submit its form with the token it contains."""
    token = csrf_token(client.get(f"/{role}").text)
    return client.post(f"/{role}", data={"csrf_token": token, "text": text}, **kwargs)


def read_log(path):
    """The messages in a log file as (role, text) pairs, checking every line has the contract's format."""
    if not path.exists():
        return []
    content = path.read_bytes().decode("utf-8")
    assert content.endswith("\n"), f"Every line of {path.name} should end with a newline"
    messages = []
    for line in content.split("\n")[:-1]:
        try:
            _time, role, text = parse_log_line(line)
        except ValueError:
            raise AssertionError(f"This line of {path.name} is not '<time> <role> <JSON string>': {line!r}") from None
        messages.append((role, text))
    return messages


# --- Checks both stages make; `log` is the file the stage writes the message to -----------------

def home_page_links_to_both_clients(client):
    response = client.get("/")
    assert response.status_code == 200, f"GET / should answer 200, but answered {response.status_code}"
    assert 'href="/user"' in response.text, "The home page should link to the user's client at /user"
    assert 'href="/attendant"' in response.text, "The home page should link to the attendant's client at /attendant"


def client_shows_a_message_form_in_the_shared_layout(client, role):
    response = client.get(f"/{role}")
    assert response.status_code == 200, f"GET /{role} should answer 200, but answered {response.status_code}"
    page = response.text
    assert "<form" in page and 'name="text"' in page, f"/{role} should show a form with a text field named 'text'"
    csrf_token(page)
    assert "<nav" in page and "/static/style.css" in page, f"/{role} should use the layout (nav and style.css)"
    with client.get("/static/style.css") as stylesheet:
        assert stylesheet.status_code == 200, "The stylesheet should be served from app/static"


def unknown_role_is_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404, f"GET {path} should be 404 Not Found, but answered {response.status_code}"
    assert "<nav" in response.text, (
        f"GET {path} should show the 404 page in the site's layout: @bp.app_errorhandler(404) in routes.py "
        "(bp.errorhandler only sees the Blueprint's own routes, and this URL matches none)")


def sending_appends_one_line_and_redirects(client, log):
    """The user sends one message: `log` should then hold it, as one 'user' line."""
    response = send(client, "user", "Hello, I need help")
    assert response.status_code == 302, f"A sent message should redirect (Post/Redirect/Get), got {response.status_code}"
    assert response.headers["Location"] == "/user", "After sending, the redirect should lead back to /user"
    assert read_log(log) == [("user", "Hello, I need help")], (
        f"{log.name} should hold exactly one line for the message, with the role 'user'"
    )


def after_the_redirect_the_page_shows_the_message_and_a_flash(client):
    response = send(client, "attendant", "How can I help?", follow_redirects=True)
    assert response.status_code == 200, f"The page after sending should answer 200, got {response.status_code}"
    assert "How can I help?" in response.text, "The attendant's page should show the message just sent"
    assert 'class="flash"' in response.text, "A flashed message should confirm that the message was sent"


def a_message_over_the_limit_is_refused(client, log):
    """The user sends one character too many: an error naming the limit, and nothing in `log`."""
    response = send(client, "user", "x" * (LIMIT + 1))
    assert response.status_code == 200, f"A too-long message should show the form again, got {response.status_code}"
    assert str(LIMIT) in response.text and 'class="error"' in response.text, (
        f"The error should say the limit: {LIMIT} characters"
    )
    assert read_log(log) == [], f"A too-long message should write nothing to {log.name}"


def a_message_at_the_limit_is_sent(client, log):
    send(client, "user", "é" * LIMIT)
    assert read_log(log) == [("user", "é" * LIMIT)], f"{LIMIT} characters is within the limit: {log.name} should hold them"


def a_post_without_the_csrf_token_writes_nothing(client, log):
    response = client.post("/user", data={"text": "sent by another site"})
    assert response.status_code in (200, 400), f"A post without the CSRF token should be refused, got {response.status_code}"
    assert read_log(log) == [], f"A post without the CSRF token should write nothing to {log.name}"


def odd_requests_get_an_answer_not_a_server_error(client, log):
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
    for role, text in read_log(log):
        assert role == "user" and isinstance(text, str), (
            f"Whatever was written to {log.name} must still be a well-formed 'user' line"
        )


def messages_are_shown_as_text_not_run_as_html(client):
    response = send(client, "user", "<script>alert(1)</script>", follow_redirects=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text, "The message should be shown literally"
    assert "<script>alert(1)</script>" not in response.text, "A message must never become HTML on the page"


def a_message_cannot_forge_a_log_line(client, log, text):
    send(client, "user", text)
    assert read_log(log) == [("user", text)], (
        f"{text!r} should be stored in {log.name} as exactly one 'user' line that reads back as the same text"
    )
    assert str(escape(text)) in client.get("/user").text, f"The page should show {text!r} exactly as it was sent"


def each_message_shows_its_time_as_a_person_reads_it(client, log):
    send(client, "user", "What time is it?")
    logged, _role, _text = parse_log_line(log.read_bytes().decode("utf-8").splitlines()[-1])
    shown = re.search(rf'<time datetime="{logged}">([^<]*)</time>', client.get("/user").text)
    assert shown, (
        f'The message logged at {logged} should be shown in <time datetime="{logged}">...</time>: the log\'s '
        "ISO time stays in datetime, for programs (and the tests)")
    expected = f"{logged[:10]} {logged[11:16]}"
    assert logged[11:16] in shown[1] and not re.search(r"\dT\d", shown[1]), (
        f"The time of a message is shown as {shown[1].strip()!r}, not as a person reads it: show e.g. {expected} "
        f'({{{{ message.time[:16]|replace("T", " ") }}}}) and keep {logged} in datetime="..."')


def the_log_reads_back_every_message_in_order(client, log):
    for text in TRICKY:
        send(client, "attendant", text)
    assert read_log(log) == [("attendant", t) for t in TRICKY], (
        f"Reading {log.name} back should give exactly the messages sent, in order"
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
        return self.post_page(path, fields)[0]

    def post_page(self, path, fields):
        """POST the fields; the answer's status and page."""
        data = urllib.parse.urlencode(fields).encode("utf-8")
        try:
            with self.opener.open(self.base_url + path, data=data, timeout=60) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode("utf-8", "replace")


def send_from_many_clients_at_once(base_url, clients, messages_each):
    """`clients` browsers, half users and half attendants, each send `messages_each` tricky
    messages, all starting together; every message must be accepted (302).

    Returns what was sent: {"user": [text, ...], "attendant": [text, ...]}.
    """
    everyone_ready = threading.Barrier(clients, timeout=60)

    def one_client(number):
        role = ROLES[number % 2]
        browser = Browser(base_url)
        token = csrf_token(browser.get(f"/{role}"))
        texts = [f'client {number} message {m}: "quoted"\nfake\u2028{role} "line"' for m in range(messages_each)]
        everyone_ready.wait()  # all clients start sending together
        statuses = [browser.post(f"/{role}", {"csrf_token": token, "text": text}) for text in texts]
        return role, texts, statuses

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one_client, range(clients)))

    sent = {role: [] for role in ROLES}
    for role, texts, statuses in results:
        assert set(statuses) == {302}, f"Every message should be accepted (302), got {sorted(set(statuses))}"
        sent[role] += texts
    return sent


# --- Faults: a full disk, a vanished log folder, lines the app never wrote --------------------------

# Lines in a log that the app did not write (a crash, a hand edit): reading must skip each one.
NOT_WRITTEN_BY_THE_APP = [
    b"\xff\xfe not UTF-8 at all\n",
    '2026-01-01T00:00:00 user "cut inside é'.encode("utf-8")[:-1] + b"\n",  # half a character
    b"2026-01-01T00:00:00 user " + b"[" * 100_000 + b"]" * 100_000 + b"\n",  # nested too deep for json
    b"2026-01-01T00:00:00 user 42\n",  # JSON, but not a string
    b"2026-01-01T00:00:00 user null\n",
    b'2026-01-01T00:00:00 user {"text": "an object"}\n',
    b'2026-01-01T00:00:00 user "\\ud83d"\n',  # valid JSON, but half an emoji
    b'2026-01-01T00:00:00 user "two" "strings"\n',
    b'2026-01-01T00:00:00 user "half a line, glued onto 2026-01-01T00:00:01 user "the next"\n',
    b"just some words\n",
]
UNFINISHED_LAST_LINE = b'2026-01-01T00:00:00 user "a line the crash cut before its newline"'


def a_log_with_lines_the_app_never_wrote_still_shows_the_others(client, log):
    good = [("user", "written before"), ("attendant", "written after")]
    log.write_bytes(
        f'2026-01-01T00:00:00 user {json.dumps(good[0][1])}\n'.encode()
        + b"".join(NOT_WRITTEN_BY_THE_APP)
        + f'2026-01-01T00:00:01 attendant {json.dumps(good[1][1])}\n'.encode()
        + UNFINISHED_LAST_LINE
    )
    response = client.get("/user")
    assert response.status_code == 200, (
        f"{log.name} holds lines the app never wrote (not UTF-8, half a character, JSON nested 100,000 deep, "
        f"not a string...): the page should skip them and answer 200, but answered {response.status_code}"
    )
    shown = re.findall(r'<li class="(?:user|attendant)"', response.text)
    assert len(shown) == len(good) and all(text in response.text for _, text in good), (
        f"The page should show exactly the {len(good)} lines the app wrote, and skip every other line "
        f"(including an unfinished last line), but it shows {len(shown)} messages"
    )


def sending_after_the_log_folder_was_deleted_recreates_it(client, log):
    send(client, "user", "first")
    shutil.rmtree(log.parent)
    response = send(client, "user", "after the folder was deleted")
    assert response.status_code == 302, (
        f"The log folder was deleted while the app ran: sending should recreate it and succeed, "
        f"but answered {response.status_code}"
    )
    assert read_log(log) == [("user", "after the folder was deleted")], f"{log.name} should be recreated"


def a_log_folder_that_cannot_be_written_gives_a_clear_error(client, log):
    shutil.rmtree(log.parent)
    log.parent.write_text("a file where the log folder should be")  # no folder can be made there
    page = client.get("/user")
    assert page.status_code == 200, f"With no log folder the page should still answer, got {page.status_code}"
    response = send(client, "user", "nowhere to write this")
    assert response.status_code != 500 and "could not be saved" in response.text, (
        "When the log cannot be written, the sender should see the page again with an error that says "
        f"the message could not be saved, never a server error (got {response.status_code})"
    )
    assert "nowhere to write this" in response.text, "The typed message should stay in the box, to send again"


class TinyDisk:
    """The log folder on a full disk, for a live server: a 64 kB tmpfs where this machine lets us
    mount one (root), else the server's file size limit (RLIMIT_FSIZE) as an injected full disk.
    fill() leaves no room beyond what the log already holds; free() gives the room back."""

    def __init__(self, folder, tmpfs):
        self.folder = Path(folder)
        self.mounted = tmpfs and self._mount()
        self.server = None

    def _mount(self):
        if os.geteuid() != 0:
            return False
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0777", "tmpfs", str(self.folder)],
                              capture_output=True)
        return done.returncode == 0

    def fill(self, log):
        if self.mounted:
            with open(self.folder / "filler", "wb", buffering=0) as filler:
                try:
                    while True:
                        filler.write(b"\0" * 512)
                except OSError as error:
                    assert error.errno == errno.ENOSPC, f"Filling the tmpfs failed: {error}"
        else:
            self._file_size_limit(log.stat().st_size + 10)

    def free(self):
        if self.mounted:
            (self.folder / "filler").unlink()
        else:
            self._file_size_limit(None)

    def _file_size_limit(self, size):
        """Set the server's soft file size limit (None: as high as allowed). The hard limit stays:
        under the grader's sandbox it is already lower, and no process may raise it again."""
        # The app host sets it on its server, which inherits the hard limit of this process, its ancestor.
        _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        self.server.limit_file_size(hard if size is None else size)

    def unmount(self):
        if self.mounted:
            subprocess.run(["umount", str(self.folder)], check=True)


@pytest.fixture(params=["tmpfs", "injected"])
def disk(request, log_dir):
    """The log folder as a disk that can fill up (ask for it before live_server).

    A server in the app host's bubblewrap sandbox lives in a mount namespace made when the host
    started: a tmpfs mounted now would be the tests' alone, so there the full disk is always
    injected (the tmpfs is for a machine without bubblewrap, where the servers see it)."""
    sandboxed = request.config.app_host_mode == "sandbox"
    tiny = TinyDisk(log_dir, tmpfs=request.param == "tmpfs" and not sandboxed)
    yield tiny
    tiny.unmount()


def a_full_disk_never_corrupts_the_log(server, disk, log, role):
    """Messages fill the log, the disk is full, more are sent, the disk gets room again, one more is sent."""
    disk.server = server
    browser = Browser(server.url)
    token = csrf_token(browser.get(f"/{role}"))
    # Enough to bring the log near a tmpfs page's end, so the next line is cut by the full disk.
    before = [f"message {n} {'x' * 480}" for n in range(7)]
    for text in before:
        assert browser.post(f"/{role}", {"csrf_token": token, "text": text}) == 302, "A message should be sent"
    logged = log.read_bytes()

    disk.fill(log)
    for attempt in range(2):
        status, page = browser.post_page(f"/{role}", {"csrf_token": token, "text": f"disk full {attempt} " + "y" * 480})
        assert status != 500 and "could not be saved" in page, (
            f"With the disk full, the sender should get the page again saying the message could not be saved, "
            f"never a server error (got {status})"
        )
        assert log.read_bytes() == logged, (
            f"A write that hit the full disk must leave {log.name} exactly as it was: no half line, nothing lost"
        )
    assert browser.get(f"/{role}").count("message ") >= len(before), "The page should still show the conversation"

    disk.free()
    assert browser.post(f"/{role}", {"csrf_token": token, "text": "room again"}) == 302, (
        "Once the disk has room again, sending should work again"
    )
    assert read_log(log) == [(role, text) for text in before + ["room again"]], (
        f"After the disk had room again, {log.name} should hold every message sent, each on its own whole line"
    )
