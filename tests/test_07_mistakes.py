"""Stage 7: the mistakes its lesson note warns about: messages shown as text on both sides' pages, the
attendant's password never printed, sign-in that stays on the site, session IDs at the server's local
time at any hour in any zone (tests/test_mistakes.py holds those stage 7 shares with the others)."""
import urllib.parse
from datetime import datetime

from support.mistakes import (HOSTILE, NON_ASCII, at_any_hour, close_after, output_after_a_barrier,
                              password_not_in_output, shown_as_text, stays_on_this_site)
from support.remote import RemoteClient
from support.sockets import ATTENDANT_NAME, ATTENDANT_PASSWORD, SocketWindow, sign_in, signed_in, start_chat

STAGE = 7


def test_text_a_visitor_sends_is_shown_as_text_on_both_sides_pages(live_server):
    """The chat page renders the history with {{ message.text }}: never |safe or Markup(...) there; chat.js uses
    textContent for the live ones."""
    user, attendant = RemoteClient(live_server.url), signed_in(RemoteClient(live_server.url))
    chat_id = start_chat(user)
    with SocketWindow(live_server.url, user) as window:
        window.join(chat_id, "user")
        for text in HOSTILE + NON_ASCII:
            window.send(text)
            echo = window.expect("message", f"after sending {text!r}")
            assert echo["text"] == text, f"The message should travel as the exact text sent, {text!r}; got {echo}"
    for browser, role in ((user, "user"), (attendant, "attendant")):
        page = browser.get(f"/{role}/{chat_id}").text
        for text in HOSTILE + NON_ASCII:
            shown_as_text(page, text, f"The {role}'s chat page (its history)")


def test_after_signing_in_the_redirect_stays_on_this_site(client):
    """Redirect to url_for(...) of one of your pages; if you honour ?next=, accept only a path of this site."""
    for target in ("https://evil.example/", "//evil.example/"):
        response = sign_in(client, path=f"/signin?next={urllib.parse.quote(target, safe='')}")
        stays_on_this_site(response, f"Signing in from /signin?next={target}")


def test_the_attendants_password_never_reaches_the_servers_output(live_server):
    """Remove every print or log call that includes the password; log the name and the outcome, if anything."""
    visitor, wrong = RemoteClient(live_server.url), "Tr0ub4dor&3-a-wrong-guess"
    sign_in(visitor, ATTENDANT_NAME, wrong)
    signed_in(visitor)
    output = output_after_a_barrier(live_server, visitor)
    password_not_in_output(output, wrong, "the sign-in form (a wrong one)")
    password_not_in_output(output, ATTENDANT_PASSWORD, "the sign-in form")


def test_a_chat_is_named_by_the_servers_local_time_at_any_hour_in_any_zone(start_app, stage_env):
    """Name a session with datetime.now().strftime("%Y%m%d-%H%M%S"): the server's local time, on a 24-hour
    clock."""
    def check(started, expected, when):
        chat_id = start_chat(started.client())[:15]
        named = datetime.strptime(chat_id, "%Y%m%d-%H%M%S")
        assert close_after(named, expected), (
            f"The chat started {when} is named {chat_id}, but the server's local time was "
            f"{expected:%Y%m%d-%H%M%S}: use datetime.now() (the server's own zone, a 24-hour clock), not UTC or %I")

    at_any_hour(start_app, stage_env, check)


