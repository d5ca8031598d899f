"""Stage 1 in a real browser: the greeting a student sees at /."""
import pytest
from playwright.sync_api import expect

STAGE = 1
pytestmark = pytest.mark.browser


def test_the_browser_shows_the_greeting(live_server, page, step):
    """Open / yourself: the view for @app.route("/") should return the greeting as a big heading (<h1>)."""
    with step("open the home page"):
        response = page.goto(live_server.url + "/")
        assert response.ok, f"Opening / should work, but the server answered {response.status}"
    with step("read the greeting"):
        expect(page.get_by_role("heading", level=1),
               "The page should show a big heading that says Hello").to_contain_text("Hello")
