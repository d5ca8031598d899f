"""Text a visitor sends to get out of a page's text, and what a page must make of it: text.

Each payload carries a marker (a few random letters, fresh for each payload), so whatever of it
reaches a page can be told from the page's own markup, however the page wrote it.
"""
import json
import secrets
import string
from html.parser import HTMLParser

from hypothesis import given, seed
from hypothesis import strategies as st

# One per way out of a page's text: an element, a quoted attribute (either quote), an attribute
# without quotes, a whole URL of a link, a script, and Jinja's own syntax. At most 30 characters.
CONTEXTS = [
    "<{m}>",
    "<script>{m}()</script>",
    '" {m}="1',
    "' {m}='1",
    "x {m}=1",
    "javascript:{m}()",
    '";{m}();"',
    "</script><{m}>",
    "{{{{'{m}'*2}}}}",
]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "xlink:href"}
# What generated text is made of: the characters and words that change a context, and plain text.
PIECES = ["<", ">", '"', "'", "&", "=", " ", "/", "\\", "`", ";", "(", ")", "{{", "}}", "{%", "%}", "</script>",
          "<script>", "javascript:", "on", "é", "ção", "你好", "🙂", "👍🏽", "\t", "\n", "&lt;", "&#34;", "%2F", "%"]


def marker():
    return "q" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(7))


def fixed():
    """One payload for each context, each with a fresh marker: [(payload, marker)]."""
    found = []
    for context in CONTEXTS:
        mark = marker()
        found.append((context.format(m=mark), mark))
    return found


@st.composite
def generated(draw):
    """A payload Hypothesis makes: a context's payload among pieces that change contexts."""
    mark = marker()
    before = draw(st.lists(st.sampled_from(PIECES), max_size=4))
    context = draw(st.sampled_from(CONTEXTS))
    after = draw(st.lists(st.sampled_from(PIECES), max_size=4))
    return "".join(before) + context.format(m=mark) + "".join(after), mark


class _Reader(HTMLParser):
    def __init__(self, mark, payload):
        super().__init__(convert_charrefs=True)
        self.mark, self.payload = mark, payload
        self.problems, self.shown, self._raw = [], [], None
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if self.mark in tag:
            self.problems.append(f"made an element <{tag}> of it")
        for name, value in attrs:
            if self.mark in name:
                self.problems.append(f"made an attribute '{name}' of it on <{tag}> (it got out of the attribute's "
                                     "quotes, or the attribute had none)")
            if value is None or self.mark not in value:
                continue
            self.shown.append(value)
            if name.startswith("on"):
                self.problems.append(f"put it in the event handler {name}= of <{tag}>, where it runs")
            elif name in URL_ATTRIBUTES and value.strip().lower().startswith(("javascript:", "data:", "vbscript:")):
                self.problems.append(f"made it the whole URL of <{tag} {name}>, a javascript: link that runs")
        self._in_script = tag in ("script", "style")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._in_script = False

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self.mark not in data:
            return
        if self._in_script and json.dumps(self.payload) not in data.replace("\\u003c", "<").replace(
                "\\u003e", ">").replace("\\u0026", "&").replace("\\u0027", "'"):
            self.problems.append("put it inside a <script> as code, not as a JSON string (|tojson)")
        elif not self._in_script:
            self.shown.append(data)


def problems(html, payload, mark):
    """What the page made of payload other than text; [] when it shows it as text, or not at all."""
    reader = _Reader(mark, payload)
    reader.feed(html)
    reader.close()
    found = reader.problems
    if mark * 2 in html and mark * 2 not in payload:
        found.append("ran it as a Jinja template (the visitor's text became part of a template's source)")
    elif reader.shown and not any(payload in text for text in reader.shown) and "/" not in payload \
            and not any(piece in payload for piece in ("\n", "\t", "%")):
        found.append(f"shows it changed, as {reader.shown[0]!r}")
    return found


def excerpt(html, mark, width=80):
    """The page's HTML around the marker's first occurrence."""
    at = html.find(mark)
    return html[max(0, at - width):at + width] if at >= 0 else ""


def seed_of_this_run(config):
    """This run's seed for generated values: --hypothesis-seed's, or a fresh one, named in any failure."""
    given_seed = config.getoption("hypothesis_seed", None)
    return int(given_seed) if given_seed is not None else secrets.randbelow(2 ** 32)


def with_generated(check, strategy, run_seed):
    """check(value) for a fixed payload of each context, then for those Hypothesis generates; the
    values checked, in order."""
    checked = []

    def record(value):
        checked.append(value)
        check(value)

    for value in fixed():
        record(value)
    each_generated(record, strategy, run_seed)
    return checked


def each_generated(check, strategy, run_seed):
    """check(value) for each value Hypothesis generates from strategy with run_seed (as many as the
    loaded profile says); a failure names the seed, to replay it."""
    @seed(run_seed)
    @given(strategy)
    def run(value):
        check(value)

    try:
        run()
    except AssertionError as error:
        raise AssertionError(f"{error}\n(Generated: replay with --hypothesis-seed={run_seed})") from None


def text_stays_text(pages, payload, mark, way):
    for path, status, html in pages:
        found = problems(html, payload, mark)
        assert not found, (
            f"The page {path} ({status}), after {payload!r} was sent as {way}, {found[0]}: ...{excerpt(html, mark)}... "
            "Show a visitor's text with {{ value }} in the page's text or in a quoted attribute (never |safe, "
            "Markup(...) or render_template_string); never in a <script> (hand it over in a data- attribute) "
            "and never as a whole link's URL"
        )
