"""Stage 2: pages rendered from templates that share one layout, a stylesheet from static/."""
import re
from datetime import datetime
from html.parser import HTMLParser

STAGE = 2


class PageParts(HTMLParser):
    """The parts of a page these tests look at: stylesheet links, nav links, title, list items."""

    def __init__(self, html):
        super().__init__()
        self.stylesheets, self.nav_links, self.list_items = [], [], []
        self.title = ""
        self._in_nav = self._in_title = self._in_li = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and "stylesheet" in (attrs.get("rel") or "").split():
            self.stylesheets.append(attrs.get("href", ""))
        elif tag == "nav":
            self._in_nav = True
        elif tag == "a" and self._in_nav:
            self.nav_links.append(attrs.get("href", ""))
        elif tag == "title":
            self._in_title = True
        elif tag == "li":
            self._in_li = True
            self.list_items.append("")

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_nav = False
        elif tag == "title":
            self._in_title = False
        elif tag == "li":
            self._in_li = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._in_li:
            self.list_items[-1] += data


def get_page(client, path):
    response = client.get(path)
    assert response.status_code == 200, f"GET {path} should answer 200 OK, but answered {response.status_code}"
    assert response.mimetype == "text/html", f"GET {path} should send HTML, but sent {response.mimetype}"
    return PageParts(response.text)


def test_home_and_about_pages_answer(client):
    """Each page needs its route: / and /about, each rendering its template."""
    for path in ("/", "/about"):
        get_page(client, path)


def test_the_stylesheet_link_leads_to_the_css_file(client):
    """Link the stylesheet in base.html with url_for('static', filename='style.css'); the file lives in static/."""
    for path in ("/", "/about"):
        page = get_page(client, path)
        assert page.stylesheets, f"The page at {path} should link a stylesheet: <link rel=\"stylesheet\" href=...>"
        href = page.stylesheets[0]
        assert href.endswith("style.css"), (
            f"The stylesheet link on {path} should point to static/style.css, but points to {href!r}"
        )
        with client.get(href) as response:
            assert response.status_code == 200, (
                f"The stylesheet link {href!r} should load the file (200), but answered {response.status_code};"
                " build it with url_for('static', filename='style.css')"
            )
            assert response.mimetype == "text/css", f"{href} should be sent as text/css, not {response.mimetype}"


def test_nav_links_reach_both_pages(client):
    """The <nav> in base.html should link every page with url_for('<view name>')."""
    for path in ("/", "/about"):
        links = get_page(client, path).nav_links
        for target in ("/", "/about"):
            assert target in links, (
                f"The <nav> on {path} should link to {target} (with url_for), but its links are {links}"
            )
        for href in links:
            response = client.get(href)
            assert response.status_code == 200, f"The nav link {href!r} on {path} should open a page, not {response.status_code}"


def test_both_pages_share_the_layout_from_base_html(client):
    """Every page template starts with {% extends "base.html" %} and fills the title and content blocks."""
    home, about = client.get("/").text, client.get("/about").text

    def layout(html):
        # The page without what lies inside <title> and <main>: what base.html alone provides.
        html = re.sub(r"<title>.*?</title>", "<title></title>", html, flags=re.S)
        return re.sub(r"<main>.*</main>", "<main></main>", html, flags=re.S)

    assert "<main>" in home and "<main>" in about, "Both pages should put their content inside <main> (in base.html)"
    assert layout(home) == layout(about), (
        "Apart from the title and the content of <main>, the home and about pages should be identical:"
        " both should extend base.html"
    )
    assert PageParts(home).title != PageParts(about).title, (
        "Each page should fill in the title block with its own title"
    )
    assert home.split("<main>")[1] != about.split("<main>")[1], "Each page should fill in the content block with its own content"


def test_home_page_lists_the_lessons_with_a_for_loop(client):
    """Pass the list to render_template and write one <li> per item with {% for %} ... {% endfor %}."""
    items = get_page(client, "/").list_items
    assert len(items) >= 2, f"The home page should list the lessons, one <li> each, but has {len(items)} list items"
    assert any("Templates" in item for item in items), (
        f"One lesson in the list should be about Templates; the list is {items}"
    )


def test_about_page_shows_the_time_it_was_made_and_greets_for_that_hour(client):
    """Pass datetime.now() to the template and choose the greeting with {% if %} on its hour."""
    before = datetime.now().replace(microsecond=0)
    html = client.get("/about").text
    after = datetime.now()
    match = re.search(r"\b(\d\d):(\d\d):(\d\d)\b", html)
    assert match, "The about page should show the time the server made it, as HH:MM:SS"
    shown = before.replace(hour=int(match[1]), minute=int(match[2]), second=int(match[3]))
    assert before.time() <= shown.time() <= after.time() or after.date() != before.date(), (
        f"The about page shows {match[0]}, but the server's clock said {before:%H:%M:%S}; pass datetime.now() to the template"
    )
    hour = shown.hour
    expected = "good morning" if hour < 12 else "good afternoon" if hour < 18 else "good evening"
    assert expected in html.lower(), f"At {match[0]} the about page should say {expected!r} (an if in the template)"


def test_a_page_that_does_not_exist_gets_a_404_page_in_the_sites_layout(client):
    """Look at the @app.errorhandler(404) view: the template it renders, and the status it returns with it."""
    response = client.get("/no-such-page")
    assert response.status_code == 404, (
        f"A URL no route matches should answer 404 Not Found, but answered {response.status_code}: "
        "the error handler returns the status with the page: return render_template(...), 404")
    assert "<nav" in response.text and "style.css" in response.text, (
        "The 404 page should be a template that extends base.html (nav and stylesheet), rendered by "
        "@app.errorhandler(404), not Flask's plain default page")
