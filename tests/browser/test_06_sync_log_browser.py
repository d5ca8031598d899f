"""Stage 6 in a real browser: two people share one log and see it when they press Send/Refresh."""
import pytest
from playwright.sync_api import expect

STAGE = 6
pytestmark = pytest.mark.browser

BUTTON = "Send/Refresh"


def open_chat(new_context, url, role):
    """A separate browser (its own cookies) for each person, on /user or /attendant."""
    window = new_context().new_page()
    window.goto(f"{url}/{role}")
    expect(window.get_by_role("heading", level=1)).to_have_text(role.capitalize())
    expect(window.get_by_role("button", name=BUTTON), f"The {role} page should have a {BUTTON} button").to_be_visible()
    return window


def press_send_refresh(window, text=""):
    window.locator("#text").fill(text)
    with window.expect_response(lambda r: r.request.method == "POST") as posted:
        window.get_by_role("button", name=BUTTON).click()
    window.wait_for_load_state()
    return posted.value


def test_the_attendant_sees_the_users_message_after_send_refresh(live_server, new_context, step):
    """One log file for both roles; an empty box writes nothing and shows the page again."""
    with step("open the user's and the attendant's windows"):
        user = open_chat(new_context, live_server.url, "user")
        attendant = open_chat(new_context, live_server.url, "attendant")
    with step("the user sends a message with HTML in it"):
        response = press_send_refresh(user, "Hi, my <i>order</i> is late")
        assert response.status in (302, 303), f"Sending should redirect (302), not answer {response.status}"
        expect(user.locator(".flash")).to_have_text("Message sent.")
        expect(user.locator("#messages li", has_text="is late")).to_have_count(1)
    with step("the attendant's page does not change by itself"):
        expect(attendant.locator("#messages li", has_text="is late"),
               "Stage 6 has no realtime: the attendant's page shows nothing new until they refresh").to_have_count(0)
    with step("the attendant presses Send/Refresh with an empty box"):
        response = press_send_refresh(attendant)
        item = attendant.locator("#messages li", has_text="is late")
        expect(item, "After Send/Refresh the attendant should see the user's message once").to_have_count(1)
        expect(item, "The message should read exactly as typed, tags included").to_contain_text(
            "Hi, my <i>order</i> is late")
        expect(item.locator("i"), "Typed HTML must not become an element on the attendant's page").to_have_count(0)
        expect(attendant.locator(".flash"), "A refresh sends nothing, so it flashes nothing").to_have_count(0)
    with step("the attendant replies and the user refreshes"):
        press_send_refresh(attendant, "Let me check that for you")
        press_send_refresh(user)
        expect(user.locator("#messages li"), "The user should see the whole conversation in order").to_contain_text(
            ["is late", "Let me check that for you"])
        expect(user.locator("#messages li", has_text="is late"),
               "A refresh must not write the message again").to_have_count(1)
