"""Stage 4: the mistakes its lesson note warns about: text a visitor sends shown as text, no password in
the server's output, a redirect that stays on the site (tests/test_mistakes.py holds those stage 4
shares with the others)."""
import urllib.parse

from support.mistakes import (HOSTILE, NON_ASCII, output_after_a_barrier, password_not_in_output, path_segment,
                              shown_as_text, stays_on_this_site)
from support.remote import RemoteClient

STAGE = 4
LOGIN = "/login"


def log_in(client, username, password="pw", path=LOGIN):
    return client.post_form(path, {"username": username, "password": password})


def welcome_page(client, username):
    response = log_in(client, username)
    assert response.status_code == 302, (
        f"Logging in as {username!r} (a valid username: 3 to 30 characters) should redirect, "
        f"but answered {response.status_code}")
    page = client.get(response.location)
    assert page.status_code == 200, f"The page after logging in should answer 200, not {page.status_code}"
    return page.text


def url_pages(text):
    yield f"/hello?name={path_segment(text)}"
    yield f"/files/notes/{path_segment(text).replace('%2F', '/')}/plan.txt"
    if "/" not in text:
        yield f"/user/{path_segment(text)}"


def test_text_a_visitor_sends_is_shown_as_text_on_every_page(client):
    """Show what a visitor typed with {{ value }} in a template; never |safe, Markup(...), {% autoescape false
    %}, or render_template_string with it in the template's source."""
    for text in HOSTILE:
        shown_as_text(welcome_page(client, text), text, f"The welcome message after logging in as {text!r}")
        for path in url_pages(text):
            response = client.get(path)
            assert response.status_code == 200, f"GET {path} should answer 200, not {response.status_code}"
            shown_as_text(response.text, text, f"The page {urllib.parse.unquote(path)}")
    too_long = HOSTILE[2] + "x" * 10  # refused (over 30 characters): the form shows it again, in the box
    response = log_in(client, too_long)
    assert response.status_code == 200, f"A username over 30 characters should get the form again, not {response.status_code}"
    shown_as_text(response.text, too_long, "The login form shown again with the typed username")


def test_accents_cjk_and_emoji_come_back_as_typed(client):
    """Keep the text as str from the form to the flashed message; never encode it to ASCII."""
    for text in NON_ASCII:
        html = welcome_page(client, text)
        assert text in html, f"After logging in as {text!r} the welcome message should show the name exactly as typed"


def test_after_logging_in_the_redirect_stays_on_this_site(client):
    """Redirect to url_for(...) of one of your pages; if you honour ?next=, accept only a path of this site."""
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = log_in(client, "ana", path=f"{LOGIN}?next={urllib.parse.quote(target, safe='')}")
        stays_on_this_site(response, f"Logging in from {LOGIN}?next={target}")


def test_the_password_never_reaches_the_servers_output(live_server):
    """Remove every print or log call that includes the password; log the name and the outcome, if anything."""
    visitor, password = RemoteClient(live_server.url), "Tr0ub4dor&3-never-logged"
    status = visitor.post_form(LOGIN, {"username": "ana", "password": password}, follow_redirects=True).status_code
    assert status == 200, f"Logging in (then following the redirect) should end on a page that answers 200, not {status}"
    visitor.post_form(LOGIN, {"username": "al", "password": password})  # refused: too short a name
    password_not_in_output(output_after_a_barrier(live_server, visitor), password, "the login form")


