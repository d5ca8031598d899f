"""Stage 7 in a real browser: a user and an attendant chatting live, over a WebSocket.

The windows and what they do (start a chat, sign in, join, send) are in chat_windows.py.
"""
import json
import re

import pytest
from playwright.sync_api import expect

from chat_windows import join_chat, send_and_see, sign_in, start_chat

STAGE = 7
pytestmark = pytest.mark.browser


def test_user_and_attendant_chat_both_ways_live_over_a_websocket(live_server, new_context, step):
    """chat.js joins on every connect and adds each message with textContent; the server emits each message to
    its session's room."""
    with step("the user opens their window from the home page and starts a chat"):
        user = start_chat(new_context, live_server.url, from_home=True)
    with step("the attendant joins that chat from the list of sessions"):
        attendant = join_chat(new_context, live_server.url, user.chat_id)
        user.mark_page()
        attendant.mark_page()
    with step("the user sends; it reaches the attendant over the WebSocket"):
        send_and_see(user, attendant, "Hello, my parcel has not arrived")
    with step("the attendant replies; it reaches the user over the WebSocket"):
        send_and_see(attendant, user, "Sorry to hear that, let me look")
        expect(user.messages.filter(has_text=re.compile("parcel|Sorry")),
               "Both messages should be listed in the order they were sent").to_contain_text(
            ["Hello, my parcel has not arrived", "Sorry to hear that, let me look"])
    with step("the user sends HTML; the attendant sees it as literal text"):
        payload = '<img src="x" onerror="window.injected = 1"><b>bold</b> <script>window.injected = 2</script>'
        user.send(payload)
        item = attendant.messages.filter(has_text="bold")
        expect(item, "The attendant should see exactly what the user typed, tags included").to_contain_text(payload)
        expect(attendant.page.locator("#messages img, #messages b, #messages script"),
               "Typed HTML must never become elements on the attendant's page").to_have_count(0)
        assert attendant.page.evaluate("window.injected") is None, "Typed script must never run on the other side"
    with step("neither page reloaded during the chat"):
        assert user.still_same_page() and attendant.still_same_page(), (
            "The messages should arrive without reloading the page (the page was reloaded or left)")


def test_a_second_chat_session_sees_nothing_of_the_first(live_server, new_context, step):
    """Emit a message to its session's room (to=chat_id), never to everyone."""
    with step("session one: a user starts a chat and an attendant joins it"):
        user = start_chat(new_context, live_server.url)
        attendant = join_chat(new_context, live_server.url, user.chat_id)
    with step("session two: another user, in another browser, starts a chat"):
        other = start_chat(new_context, live_server.url)
        assert other.chat_id != user.chat_id, (
            f"A second chat should get its own session ID, but both got {user.chat_id}")
    with step("session one talks"):
        send_and_see(user, attendant, "Only for session one")
    with step("session two talks, then checks it never got session one's message"):
        # The server sent session one's message before this one: had it leaked, it would be here already.
        send_and_see(other, other, "Session two here")
        expect(other.messages.filter(has_text="Only for session one"),
               "A message of one chat session must never reach another session's page").to_have_count(0)
    with step("session one talks again, then checks it never got session two's message"):
        send_and_see(attendant, user, "Still only session one")
        for window in (user, attendant):
            expect(window.messages.filter(has_text="Session two here"),
                   f"Session one's {window.role} must never see session two's message").to_have_count(0)


def test_a_reloaded_chat_page_shows_the_history_once(live_server, new_context, step):
    """On history, replace the list's contents instead of appending to them."""
    with step("a user and an attendant exchange two messages"):
        user = start_chat(new_context, live_server.url)
        attendant = join_chat(new_context, live_server.url, user.chat_id)
        send_and_see(user, attendant, "First message")
        send_and_see(attendant, user, "Second message")
    with step("the user reloads the page and it joins again"):
        user.reload()
        user.wait_until_live()
    with step("a new live message arrives after the reload"):
        # It is sent after the history, so once it is on the page, the history is too.
        send_and_see(attendant, user, "Third message")
    with step("every message is on the page exactly once, in order"):
        for text in ("First message", "Second message", "Third message"):
            expect(user.messages.filter(has_text=text),
                   f"After a reload, '{text}' should be listed once (history replaces the list)").to_have_count(1)
        expect(user.messages.filter(has_text=re.compile("(First|Second|Third) message")),
               "The history should keep the order").to_contain_text(
            ["First message", "Second message", "Third message"])


@pytest.mark.parametrize("width, height", [(360, 640), (1280, 720)])
def test_the_message_box_stays_in_view_however_long_the_chat(live_server, new_context, step, log_dir,
                                                             width, height):
    """The chat page is a column the height of the window; only #messages has overflow-y: auto."""
    # With a long conversation, the message box stays on screen: the list scrolls, not the page.
    with step("a user with a long conversation opens the chat page"):
        user = start_chat(new_context, live_server.url)
        lines = [f'2026-01-01T10:00:00 user {json.dumps(f"message number {n}")}\n' for n in range(80)]
        (log_dir / f"chat_{user.chat_id}.log").write_text("".join(lines), encoding="utf-8")
        user.page.set_viewport_size({"width": width, "height": height})
        user.reload()
        user.wait_until_live()
        expect(user.messages.filter(has_text="message number 79")).to_have_count(1)
    with step(f"at {width}x{height} px the message box and the Send button are in view"):
        for locator in (user.page.locator("#text"), user.page.get_by_role("button", name="Send")):
            box = locator.bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, (
                f"At {width}x{height} px, the message box and Send button should be on screen without "
                f"scrolling; {locator} is at {box}")
        sizes = user.page.evaluate("""() => ({page: document.documentElement.scrollHeight,
            list: document.getElementById("messages").scrollHeight,
            listVisible: document.getElementById("messages").clientHeight})""")
        assert sizes["list"] > sizes["listVisible"], (
            f"The list of messages should scroll: its 80 messages are {sizes['list']} px tall, and it shows "
            f"{sizes['listVisible']} px of them")
        assert sizes["page"] <= height + 1, (
            f"The page itself should not scroll: it is {sizes['page']} px tall in a {height} px window")


def test_the_chat_works_live_when_the_site_is_served_under_a_prefix(start_app, stage_env, new_context, step):
    """A script cannot call url_for, so the template hands it the URLs it needs in data- attributes (the
    Socket.IO path from request.script_root, the chat's URL from url_for)."""
    # Served under /course, the pages' scripts reach the server under /course too: a new session's link in the
    # attendant's list leads to it, and the chat goes both ways.
    started = start_app(prefix="/course")
    assert not started.error, started.error
    site = started.url + "/course"
    with step("the attendant signs in under /course and keeps the list open"):
        desk = sign_in(new_context, site)
    with step("a user starts a chat under /course: the list links to it under /course"):
        user = start_chat(new_context, site)
        link = desk.locator("#sessions a", has_text=user.chat_id)
        expect(link, "The new session's link, added by desk.js, should lead under /course").to_have_attribute(
            "href", f"/course/attendant/{user.chat_id}")
    with step("the attendant follows it, and they chat both ways"):
        attendant = join_chat(new_context, site, user.chat_id, page=desk)
        send_and_see(user, attendant, "Hello from under /course")
        send_and_see(attendant, user, "Heard you, under /course too")
