"""Stage 7: the mistakes its lesson note warns about: messages shown as text on both sides' pages, the
attendant's password never printed nor in the code, sign-in that stays on the site, session IDs at the
server's local time at any hour in any zone, files opened as UTF-8, links under a URL prefix."""
import os
import re
import urllib.parse
from datetime import datetime

import pytest

from support.mistakes import (HOSTILE, NON_ASCII, Visitor, at_any_hour, close_after, csrf_token,
                              every_file_opened_with_an_encoding, every_link_stays_under,
                              every_page_template_extends_the_layout, no_debugger_switched_on, no_secret_in_the_code,
                              output_after_a_barrier, password_not_in_output, shown_as_text, stays_on_this_site)
from support.sockets import ATTENDANT_NAME, ATTENDANT_PASSWORD, STAGE_7_ENV, Browser

STAGE = 7


@pytest.fixture
def stage_env(stage_env):
    """The shared test environment, plus an attendant (name and password hash, as in .env)."""
    os.environ.update(STAGE_7_ENV)  # the shared fixture restores the environment afterwards
    return {**stage_env, **STAGE_7_ENV}


def start_chat(client, prefix=""):
    """Press "Start a chat" on the user page; the redirect's answer."""
    token = csrf_token(client.get(f"{prefix}/user").text, f"{prefix}/user")
    return client.post(f"{prefix}/user", data={"csrf_token": token})


def test_the_code_never_switches_the_debugger_on(stage_folder):
    """Look through the files you hand in for app.run(debug=True), DEBUG = True, FLASK_DEBUG=1 or
    host="0.0.0.0": the debugger belongs to `flask run --debug` on your own machine."""
    no_debugger_switched_on(stage_folder)


def test_no_secret_is_written_in_the_code(stage_folder):
    """Read the secret key (and the attendant's password hash) from the environment or .env with
    app.config.from_prefixed_env(); leave them empty in .env.example."""
    no_secret_in_the_code(stage_folder)


def test_every_page_template_extends_the_layout(stage_folder):
    """Look at the first line of each page template in templates/: a page extends the layout and fills its
    blocks, never copies or includes it."""
    every_page_template_extends_the_layout(stage_folder)


def test_every_file_is_opened_with_an_explicit_encoding(stage_folder):
    """Give every open() of a text file encoding="utf-8", or open it in binary and encode or decode UTF-8
    yourself."""
    every_file_opened_with_an_encoding(stage_folder)


def test_text_a_visitor_sends_is_shown_as_text_on_both_sides_pages(live_server):
    """The chat page renders the history with {{ message.text }}: never |safe or Markup(...) there; chat.js uses
    textContent for the live ones."""
    user = Browser(live_server.url)
    chat_id = user.start_chat()
    attendant = Browser(live_server.url).sign_in()
    with user.window() as window:
        window.join(chat_id, "user")
        for text in HOSTILE + NON_ASCII:
            window.send(text)
            echo = window.expect("message", f"after sending {text!r}")
            assert echo["text"] == text, f"The message should travel as the exact text sent, {text!r}; got {echo}"
    for browser, role in ((user, "user"), (attendant, "attendant")):
        with browser.opener.open(f"{live_server.url}/{role}/{chat_id}", timeout=10) as response:
            page = response.read().decode("utf-8")
        for text in HOSTILE + NON_ASCII:
            shown_as_text(page, text, f"The {role}'s chat page (its history)")


def test_after_signing_in_the_redirect_stays_on_this_site(client):
    """Redirect to url_for(...) of one of your pages; if you honour ?next=, accept only a path of this site."""
    for target in ("https://evil.example/", "//evil.example/"):
        token = csrf_token(client.get("/signin").text, "/signin")
        response = client.post(f"/signin?next={urllib.parse.quote(target, safe='')}",
                               data={"csrf_token": token, "name": ATTENDANT_NAME, "password": ATTENDANT_PASSWORD})
        stays_on_this_site(response, f"Signing in from /signin?next={target}")


def test_the_attendants_password_never_reaches_the_servers_output(live_server):
    """Remove every print or log call that includes the password; log the name and the outcome, if anything."""
    visitor, wrong = Visitor(live_server.url), "Tr0ub4dor&3-a-wrong-guess"
    visitor.post_form("/signin", {"name": ATTENDANT_NAME, "password": wrong})
    status, path = visitor.post_form("/signin", {"name": ATTENDANT_NAME, "password": ATTENDANT_PASSWORD})
    assert (status, path) == (200, "/attendant"), f"Signing in should lead to /attendant; it ended at {path} ({status})"
    output = output_after_a_barrier(live_server, visitor)
    password_not_in_output(output, wrong, "the sign-in form (a wrong one)")
    password_not_in_output(output, ATTENDANT_PASSWORD, "the sign-in form")


def test_a_chat_is_named_by_the_servers_local_time_at_any_hour_in_any_zone(start_app, stage_env):
    """Name a session with datetime.now().strftime("%Y%m%d-%H%M%S"): the server's local time, on a 24-hour
    clock."""
    def check(started, expected, when):
        response = start_chat(started.client())
        found = re.fullmatch(r"/user/([0-9]{8}-[0-9]{6})(-[0-9]+)?", response.location or "")
        assert response.status_code == 302 and found, (
            f"Starting a chat should redirect to /user/<YYYYMMDD-hhmmss> {when}; got {response.status_code} {response.location}")
        named = datetime.strptime(found.group(1), "%Y%m%d-%H%M%S")
        assert close_after(named, expected), (
            f"The chat started {when} is named {found.group(1)}, but the server's local time was "
            f"{expected:%Y%m%d-%H%M%S}: use datetime.now() (the server's own zone, a 24-hour clock), not UTC or %I")

    at_any_hour(start_app, stage_env, check)


def test_every_link_works_when_the_site_is_served_under_a_prefix(start_app):
    """Build every URL with url_for(...): links, stylesheets, scripts, form actions and redirects; never write
    /path by hand."""
    started = start_app(prefix="/course")
    assert not started.error, started.error
    client = started.client()
    response = start_chat(client, "/course")
    problems = []
    if not (response.location or "").startswith("/course/user/"):
        problems.append(f"starting a chat from /course/user redirects to {response.location}, not under /course/user/")
        pages = ["/", "/user", "/signin"]
    else:
        pages = ["/", "/user", "/signin", response.location.removeprefix("/course")]
    seen, found = every_link_stays_under(client, "/course", pages)
    problems += found
    assert not problems, (
        "Served under /course (as a school's server might), every link, script, stylesheet, form and redirect "
        "should lead under /course/ and answer: build them with url_for(...), never write a URL by hand. Wrong:\n  "
        + "\n  ".join(problems))
