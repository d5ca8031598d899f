"""Stage 2 in a real browser: two pages from one layout, a nav bar, and the stylesheet."""
import pytest
from playwright.sync_api import expect

STAGE = 2
pytestmark = pytest.mark.browser

# Properties style.css sets on the page; with the stylesheet off, the browser's defaults show.
STYLED_PROPERTIES = ["margin-top", "font-family", "background-color", "color", "line-height"]


def computed_body_and_nav_style(page):
    return page.evaluate(
        """props => ['body', 'nav'].map(sel => {
            const style = getComputedStyle(document.querySelector(sel));
            return props.map(p => sel + ' ' + p + ': ' + style.getPropertyValue(p));
        }).flat()""",
        STYLED_PROPERTIES,
    )


def test_the_nav_bar_leads_from_home_to_about_and_back(live_server, page, step):
    """Put the <nav> in base.html, link with url_for('index') and url_for('about'), and start each page with {%
    extends "base.html" %}."""
    with step("open the home page"):
        page.goto(live_server.url + "/")
        expect(page, "The home page's title should come from its title block").to_have_title("Home · Flask stages")
        expect(page.get_by_role("heading", level=1), "The home page should welcome the visitor").to_contain_text("Welcome")
        expect(page.locator("main ol li"), "The home page should list the lessons").not_to_have_count(0)
    with step("click About in the nav bar"):
        page.locator("nav").get_by_role("link", name="About").click()
        expect(page, "Clicking About should open /about").to_have_url(live_server.url + "/about")
        expect(page.get_by_role("heading", level=1), "The About page should have its own heading").to_have_text("About this site")
        expect(page.locator("nav"), "The About page should share the layout's nav bar").to_be_visible()
    with step("click Home in the nav bar"):
        page.locator("nav").get_by_role("link", name="Home").click()
        expect(page, "Clicking Home should go back to /").to_have_url(live_server.url + "/")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def test_the_stylesheet_is_loaded_and_changes_how_the_page_looks(live_server, page, step):
    """In base.html's <head>: <link rel="stylesheet" href="{{ url_for('static', filename='style.css') }}">, with
    the file in static/ next to app.py."""
    with step("open the home page and load style.css"):
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.goto(live_server.url + "/")  # returns once the page and its stylesheets have loaded
        sheets = [r for r in responses if r.request.resource_type == "stylesheet"]
        assert sheets, "The page should link its stylesheet: <link rel=\"stylesheet\" href=\"{{ url_for(...) }}\">"
        css = sheets[0]
        assert css.url == live_server.url + "/static/style.css", (
            f"The stylesheet should be /static/style.css, but the page asked for {css.url}")
        assert css.status == 200, f"/static/style.css should load, but the server answered {css.status}"
        assert "text/css" in css.headers.get("content-type", ""), (
            "style.css should be sent as text/css, or the browser ignores it")
    with step("compare the page with and without the stylesheet"):
        styled = computed_body_and_nav_style(page)
        page.evaluate("for (const sheet of document.styleSheets) sheet.disabled = true")
        unstyled = computed_body_and_nav_style(page)
        changed = [line for line, default in zip(styled, unstyled) if line != default]
        assert len(changed) >= 3, (
            "style.css should visibly change the page (body and nav): with it and without it the page "
            f"looked the same in {STYLED_PROPERTIES}. Styled: {styled}")
