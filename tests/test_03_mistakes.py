"""Stage 3: the mistakes its lesson note warns about: text from the URL shown as text on every page."""
import urllib.parse

from support.mistakes import (HOSTILE, NON_ASCII, every_link_stays_under, every_page_template_extends_the_layout,
                              no_debugger_switched_on, path_segment, shown_as_text)

STAGE = 3


def pages_showing(text):
    """Every URL of the stage that shows a visitor's text, with that text in it."""
    yield f"/hello?name={path_segment(text)}&times=2"
    yield f"/files/notes/{path_segment(text).replace('%2F', '/')}/plan.txt"
    if "/" not in text:  # a slash would end the string converter's segment (a 404, by design)
        yield f"/user/{path_segment(text)}"


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, f"GET {path} should answer 200 OK, but answered {response.status_code}"
    return response.text


def test_the_code_never_switches_the_debugger_on(stage_folder):
    """Look through the files you hand in for app.run(debug=True), DEBUG = True, FLASK_DEBUG=1 or
    host="0.0.0.0": the debugger belongs to `flask run --debug` on your own machine."""
    no_debugger_switched_on(stage_folder)


def test_every_page_template_extends_the_layout(stage_folder):
    """Look at the first line of each page template in templates/: a page extends the layout and fills its
    blocks, never copies or includes it."""
    every_page_template_extends_the_layout(stage_folder)


def test_text_from_the_url_is_shown_as_text_on_every_page(client):
    """Show text from the URL with {{ value }} in a template; never |safe, Markup(...), {% autoescape false %},
    or render_template_string with it in the template's source."""
    for text in HOSTILE:
        for path in pages_showing(text):
            shown_as_text(page(client, path), text, f"The page {urllib.parse.unquote(path)}")


def test_accents_cjk_and_emoji_in_the_url_come_back_as_typed(client):
    """Keep the text as str from request.args (or the URL) to the template; never encode it to ASCII."""
    for text in NON_ASCII:
        for path in pages_showing(text):
            html = page(client, path)
            assert text in html, f"The page {urllib.parse.unquote(path)} should show {text!r} exactly as typed (UTF-8 all the way)"


def test_every_link_works_when_the_site_is_served_under_a_prefix(start_app):
    """Build every URL with url_for(...): links, stylesheets, scripts, form actions and redirects; never write
    /path by hand."""
    started = start_app(prefix="/course")
    assert not started.error, started.error
    seen, problems = every_link_stays_under(started.client(), "/course", ["/"])
    assert len(seen) >= 3, f"The home page under /course/ should link to the site's other pages; visited {sorted(seen)}"
    assert not problems, (
        "Served under /course (as a school's server might), every link, stylesheet and form should lead "
        "under /course/ and answer: build them with url_for(...), never write a URL by hand. Wrong:\n  "
        + "\n  ".join(problems))
