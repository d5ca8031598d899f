"""Stage 5 in a real browser: the user and the attendant windows, each writing its own log."""
import pytest
from playwright.sync_api import expect

STAGE = 5
pytestmark = pytest.mark.browser


def open_window(page, name):
    """Click the home page's link that opens the User or Attendant window; return that window."""
    link = page.locator("main").get_by_role("link", name=name, exact=True)
    expect(link, f"The home page's {name} link should open its own window").to_have_attribute(
        "target", name.lower())
    with page.context.expect_page() as opened:
        link.click()
    window = opened.value
    window.wait_for_load_state()
    expect(window.get_by_role("heading", level=1)).to_have_text(name)
    return window


def send(window, text):
    window.locator("#text").fill(text)
    with window.expect_response(lambda r: r.request.method == "POST") as posted:
        window.get_by_role("button", name="Send").click()
    return posted.value


def test_the_user_window_sends_a_message_and_shows_it(live_server, page, step):
    """Follow one message through the chat view and chat.html: the field's validators, the append, the flash and
    redirect, then {{ message.text }} in the list."""
    # The user window refuses an empty message, then sends one and lists it as text.
    with step("open the User window from the home page"):
        page.goto(live_server.url + "/")
        user = open_window(page, "User")
    with step("send an empty message"):
        before = user.locator("#messages").inner_text()
        response = send(user, "   ")
        assert response.status == 200, f"An empty message should show the form again, not {response.status}"
        expect(user.locator("form p", has=user.locator("#text")).locator(".error"),
               "An empty message should get an error next to the box").to_contain_text("Type a message first")
        expect(user.locator("#messages"), "An empty message must not be listed").to_have_text(before)
    with step("send a message with HTML in it"):
        response = send(user, "Hello <b>there</b>, can you help?")
        assert response.status in (302, 303), f"Sending should redirect (302), not answer {response.status}"
        expect(user, "After sending, the browser should be back on /user").to_have_url(live_server.url + "/user")
        expect(user.locator(".flash"), "Sending should flash a confirmation").to_have_text("Message sent.")
    with step("read the message back in the list, as text"):
        item = user.locator("#messages li", has_text="can you help?")
        expect(item, "The sent message should be listed once").to_have_count(1)
        expect(item, "The message should show exactly what was typed, tags included").to_contain_text(
            "Hello <b>there</b>, can you help?")
        expect(item.locator("b"), "Typed HTML must not become an element").to_have_count(0)
        expect(item, "The message should be shown as the user's").to_contain_text("user")


def test_the_attendant_does_not_see_the_users_messages_in_stage_5(live_server, page, step):
    """In stage 5 each role reads and writes its own log file (<role>.log); one shared log is stage 6."""
    with step("open the User and Attendant windows from the home page"):
        page.goto(live_server.url + "/")
        user = open_window(page, "User")
        attendant = open_window(page, "Attendant")
    with step("send from the User window"):
        send(user, "Is anyone there?")
        expect(user.locator("#messages li", has_text="Is anyone there?")).to_have_count(1)
    with step("send from the Attendant window, then look for the user's message"):
        send(attendant, "Hello from the attendant")
        expect(attendant.locator("#messages li", has_text="Hello from the attendant"),
               "The attendant's own message should be listed").to_have_count(1)
        expect(attendant.locator("#messages li", has_text="Is anyone there?"),
               "In stage 5 each window has its own log: the attendant must not see the user's message "
               "(sharing one log is stage 6)").to_have_count(0)
