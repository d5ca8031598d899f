"""Stage 4 in a real browser: a login form checked by the server, with a CSRF token."""
import pytest
from playwright.sync_api import expect

STAGE = 4
pytestmark = pytest.mark.browser


def is_login_post(response):
    return response.request.method == "POST" and response.url.endswith("/login")


def field_row(page, field_id):
    """The <p> that holds a field: its errors are shown next to it, in the same row."""
    return page.locator("form p", has=page.locator(f"#{field_id}"))


def open_login_form(page, url):
    page.goto(url + "/")
    page.locator("nav").get_by_role("link", name="Log in").click()
    expect(page, "The nav bar's 'Log in' link should open /login").to_have_url(url + "/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")


def test_the_form_carries_a_csrf_token(live_server, page, step):
    """Look inside the <form> of the login template: {{ form.hidden_tag() }} writes the hidden token."""
    with step("open the login form from the nav bar"):
        open_login_form(page, live_server.url)
    with step("find the hidden csrf_token field in the form"):
        token = page.locator("form input[name=csrf_token]")
        expect(token, "The form should carry exactly one csrf_token field (form.hidden_tag())").to_have_count(1)
        expect(token, "The CSRF token field should be hidden").to_have_attribute("type", "hidden")
        value = token.get_attribute("value") or ""
        assert len(value) > 20, f"The CSRF token should be a long random value, not {value!r}"


def test_an_empty_form_shows_an_error_by_each_required_field(live_server, page, step):
    """Right after each field in the template, loop over that field's .errors."""
    with step("open the login form"):
        open_login_form(page, live_server.url)
    with step("submit the empty form"):
        with page.expect_response(is_login_post) as posted:
            page.get_by_role("button", name="Log in").click()
        assert posted.value.status == 200, (
            f"A form with errors should be shown again (200), not answered with {posted.value.status}")
        expect(page, "A form with errors should stay on /login").to_have_url(live_server.url + "/login")
    with step("read the errors next to Username and Password"):
        for field in ("username", "password"):
            expect(field_row(page, field).locator(".error"),
                   f"The empty {field} should get an error shown next to it").to_contain_text("required")
        expect(page.locator(".flash"), "A form with errors must not flash a welcome").to_have_count(0)


def test_a_valid_form_redirects_home_with_a_welcome_message(live_server, page, step):
    """flash(...), then return redirect(url_for('index')); base.html shows get_flashed_messages()."""
    with step("open the login form"):
        open_login_form(page, live_server.url)
    with step("fill in the form and submit it"):
        page.get_by_label("Username").fill("ana")
        page.get_by_label("Password").fill("correct horse")
        page.get_by_label("Remember me").check()
        with page.expect_response(is_login_post) as posted:
            page.get_by_role("button", name="Log in").click()
    with step("follow the redirect to the home page"):
        response = posted.value
        assert response.status in (302, 303), (
            f"A valid form should be answered with a redirect (302), not {response.status}")
        expect(page, "After logging in the browser should be on the home page").to_have_url(live_server.url + "/")
    with step("read the flashed welcome"):
        expect(page.locator(".flash"), "The home page should flash a welcome with the name").to_have_text(
            "Welcome, ana! You are logged in.")
    with step("reload: a flashed message is shown only once"):
        page.reload()
        expect(page.locator(".flash"), "After a reload the flashed message should be gone").to_have_count(0)


def test_a_form_sent_without_its_csrf_token_is_refused(live_server, page, step):
    """CSRFProtect(app) refuses a form without its token with 400; keep it on, and let the 400 page say why."""
    with step("open the login form and take its CSRF token out"):
        open_login_form(page, live_server.url)
        page.locator("form input[name=csrf_token]").evaluate("input => input.remove()")
        page.get_by_label("Username").fill("mallory")
        page.get_by_label("Password").fill("anything")
    with step("submit it"):
        with page.expect_response(is_login_post) as posted:
            page.get_by_role("button", name="Log in").click()
        assert posted.value.status == 400, (
            f"A form without its CSRF token should be refused with 400 Bad Request, not {posted.value.status}")
        expect(page.locator("body"), "The refusal should say the CSRF token is missing").to_contain_text("CSRF")
    with step("check that nobody got logged in"):
        page.goto(live_server.url + "/")
        expect(page.locator(".flash"), "A refused form must not log anyone in").to_have_count(0)
