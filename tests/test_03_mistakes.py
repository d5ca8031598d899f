"""Stage 3: the mistakes its lesson note warns about: text from the URL shown as text on every page
(tests/test_mistakes.py holds those stage 3 shares with the others)."""
import urllib.parse

from support.mistakes import HOSTILE, NON_ASCII, path_segment, shown_as_text

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


