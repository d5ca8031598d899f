"""Stage 3 in a real browser: values from the query string and the path shown back, safely."""
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

STAGE = 3
pytestmark = pytest.mark.browser

PAYLOAD = '<b id="injected">bold</b><img src="x" onerror="window.injected = true">'


def test_a_link_with_a_query_string_greets_by_name_that_many_times(live_server, page, step):
    """The home page's example link carries name and times in its query string (url_for puts them there); the
    hello view repeats its greeting that many times."""
    with step("click the /hello?name=Ana&times=3 link on the home page"):
        page.goto(live_server.url + "/")
        page.locator("main a[href*='/hello?']").first.click()
        expect(page, "The link should open /hello with its query string").to_have_url(
            live_server.url + "/hello?name=Ana&times=3")
    with step("read the greetings"):
        expect(page.locator("main p", has_text="Hello, Ana!"),
               "name=Ana&times=3 should greet Ana three times").to_have_count(3)


def test_values_typed_into_the_url_are_shown_back(live_server, page, step):
    """Each value comes from its own place: request.args for ?name=, the route's <username> and <int:number> for
    the path. Try each URL by hand."""
    with step("type a query string: /hello?name=Zoe"):
        page.goto(live_server.url + "/hello?name=Zoe")
        expect(page.locator("main p", has_text="Hello, Zoe!"),
               "With no times= the page should greet once").to_have_count(1)
    with step("type a path parameter: /user/zoe"):
        page.goto(live_server.url + "/user/zoe")
        expect(page.locator("main"), "/user/zoe should show the name taken from the path").to_contain_text(
            "profile page of zoe")
    with step("type an int parameter: /square/12"):
        page.goto(live_server.url + "/square/12")
        expect(page.locator("main"), "/square/12 should compute with the number 12").to_contain_text("144")
    with step("type a path that the int converter refuses: /square/twelve"):
        response = page.goto(live_server.url + "/square/twelve")
        assert response.status == 404, f"/square/twelve should be 404 Not Found, not {response.status}"


def test_html_typed_into_the_url_is_shown_as_text(live_server, page, step):
    """Let Jinja escape the value, {{ name }}; never {{ name|safe }} or Markup(...)."""
    with step("put HTML in the query string"):
        page.goto(live_server.url + "/hello?name=" + quote(PAYLOAD, safe=""))
        expect(page.locator("main p", has_text="Hello, "),
               "The HTML a visitor typed should appear as the literal text they typed").to_have_text(
            f"Hello, {PAYLOAD}!")
    with step("check that the browser did not run it as HTML"):
        expect(page.locator("#injected"), "The typed <b> tag must not become an element").to_have_count(0)
        expect(page.locator("main img"), "The typed <img> tag must not become an image").to_have_count(0)
        assert page.evaluate("window.injected") is None, "The typed onerror= script must never run"
    with step("put HTML in a path parameter"):
        # No "/" in it: the string converter stops at a slash.
        page.goto(live_server.url + "/user/" + quote('<em id="injected">zoe', safe=""))
        expect(page.locator("main"), "HTML in the path should be shown as text").to_contain_text(
            '<em id="injected">zoe')
        expect(page.locator("#injected"), "HTML in the path must not become an element").to_have_count(0)
