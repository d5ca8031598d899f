"""What an app exposes, found as a browser finds it: start at / (and at a page that does not exist),
follow every link of the site, press every form that asks for nothing (Start a chat), and note
every way a visitor's text gets in: a query value, a segment of a path, a form's field.

The invariants (tests/test_invariants.py) send their payloads through each way in and read every
page that comes back; they never need to know the app's routes.
"""
import urllib.parse
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser

from support.remote import csrf_token

REDIRECTS = (301, 302, 303, 307, 308)
TEXT_TYPES = {"text", "search", "email", "url", "tel", "password", "hidden", None}
# A crawler never presses these: it would end its own sign-in.
SIGN_OUT_WORDS = ("signout", "sign-out", "logout", "log-out")
# The ways in are tried in paths of at most this many parts; a deeper one found is a page's relative
# link followed again and again, each time one level further.
MAX_SEGMENTS = 8


@dataclass
class Form:
    page: str      # the page it is on
    action: str    # where it is sent (a path of the site, its query kept)
    method: str    # "get" or "post"
    fields: dict   # name -> the value the page gives it
    text_fields: list  # the fields a visitor types into (or the page fills in)

    def filled(self, fill, **given):
        """Its fields as a browser sends them: the page's values, text fields filled from fill."""
        values = {name: fill.get(name, value or "hello") if name in self.text_fields else value
                  for name, value in self.fields.items()}
        return {**values, **given}


@dataclass
class Site:
    pages: dict = field(default_factory=dict)    # path -> (status, content type)
    html: dict = field(default_factory=dict)     # path -> the page's HTML (pages that are HTML)
    forms: list = field(default_factory=list)
    cookies: list = field(default_factory=list)  # every Set-Cookie header the crawl got

    def html_pages(self):
        return sorted(self.html)

    def get_urls(self):
        """Every URL a browser could GET: the pages and files found, and each form sent by GET
        (as a browser sends a form that says no method), with its fields filled."""
        urls = set(self.pages)
        for form in self.forms:
            query = urllib.parse.urlencode(form.filled({}))
            urls.add(form.action + ("&" if "?" in form.action else "?") + query)
        return sorted(urls)

    def ways_in(self, fill):
        """Each way a visitor's text gets in: (what it is, a function of (client, text) that sends the
        text that way and gives every page the browser is shown then, as [(path, status, html)])."""
        found = {}
        for path in self.pages:
            parts = urllib.parse.urlsplit(path)
            segments = parts.path.split("/")
            if len(segments) > MAX_SEGMENTS:  # a link that grows a path each time it is followed
                continue
            for number, segment in enumerate(segments):
                shape = (tuple(segments[:number]), len(segments) - number > 1, parts.query)
                if not segment or shape in found:
                    continue

                def way(client, text, segments=segments, number=number, query=parts.query):
                    changed = segments[:number] + [urllib.parse.quote(text, safe="")] + segments[number + 1:]
                    return follow(client, "/".join(changed) + (f"?{query}" if query else ""))
                found[shape] = (f"the path segment {segment!r} of {path}", way)
            for name, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
                def way(client, text, parts=parts, name=name):
                    query = [(n, text if n == name else v) for n, v in urllib.parse.parse_qsl(parts.query, True)]
                    return follow(client, f"{parts.path}?{urllib.parse.urlencode(query)}")
                found[(parts.path, "?", name)] = (f"the query value {name}= of {path}", way)
        for form in self.forms:
            for name in form.text_fields:
                if name == "csrf_token":
                    continue

                def way(client, text, form=form, name=name):
                    return follow(client, form.action, send(client, form, fill, **{name: text}))
                found[(form.action, form.method, name)] = (
                    f"the field {name!r} of the form on {form.page} ({form.method.upper()} {form.action})", way)
        return list(found.values())


class _Parts(HTMLParser):
    """A page's links and forms."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.forms, self._form = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("a", "link") and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "script" and attrs.get("src"):
            self.links.append(attrs["src"])
        elif tag == "form":
            self._form = {"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(),
                          "fields": {}, "text": []}
            self.forms.append(self._form)
        elif tag in ("input", "textarea", "select") and self._form is not None and attrs.get("name"):
            kind = attrs.get("type", "text" if tag != "input" else None)
            kind = kind.lower() if kind else None
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            if kind == "checkbox" and "checked" not in attrs:
                return
            self._form["fields"][attrs["name"]] = attrs.get("value") or ""
            if tag == "textarea" or kind in TEXT_TYPES:
                self._form["text"].append(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def _on_site(base, value):
    """The path (and query) of this site value leads to, or None (another site, a place in the page)."""
    target = urllib.parse.urljoin(base, value.strip())
    parts = urllib.parse.urlsplit(target)
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc != "localhost") or value.startswith("#"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client, fill=None, limit=60):
    """Every page and file the site leads to from / (and its page for an unknown address), with its
    forms; forms that ask for nothing (no field to type into) are pressed, as a visitor would,
    except those that sign out. fill: the text a field gets, by name."""
    fill = fill or {}
    site = Site()
    queue = ["/", f"/no-such-page-{uuid.uuid4().hex[:8]}"]
    pressed = set()
    while queue and len(site.pages) < limit:
        path = queue.pop(0)
        if path in site.pages:
            continue
        with client.get(path) as response:
            status, kind = response.status_code, response.mimetype
            html = response.get_data(as_text=True) if kind == "text/html" else None
            location = response.location
            site.cookies += response.headers.getlist("Set-Cookie")
        site.pages[path] = (status, kind)
        if status in REDIRECTS and location:
            target = _on_site(path, location)
            if target:
                queue.append(target)
            continue
        if html is None:
            continue
        site.html[path] = html
        parts = _Parts()
        parts.feed(html)
        queue += [target for target in (_on_site(path, link) for link in parts.links) if target]
        for found in parts.forms:
            action = _on_site(path, found["action"]) or path
            form = Form(path, action, found["method"], found["fields"], found["text"])
            site.forms.append(form)
            typed = [name for name in form.text_fields if name in fill or form.fields.get(name, "") == ""]
            if form.method == "post" and (not typed or all(name in fill for name in typed)) \
                    and not any(word in action.lower() for word in SIGN_OUT_WORDS) and action not in pressed:
                pressed.add(action)
                sent = send(client, form, fill)
                site.cookies += sent.headers.getlist("Set-Cookie")
                target = _on_site(action, sent.location) if sent.status_code in REDIRECTS and sent.location else None
                if target:  # seen before, maybe: what it shows now may differ (signed in)
                    site.pages.pop(target, None)
                    site.html.pop(target, None)
                    queue.append(target)
    return site


def send(client, form, fill, **given):
    """Send form as a browser does, with a fresh CSRF token from its page: its answer (not followed)."""
    fields = form.filled(fill, **given)
    if "csrf_token" in fields:
        fields["csrf_token"] = csrf_token(client.get(form.page).get_data(as_text=True), form.page)
    if form.method == "post":
        return client.post(form.action, data=fields)
    return client.get(form.action + ("&" if "?" in form.action else "?") + urllib.parse.urlencode(fields))


def follow(client, path, response=None, hops=5):
    """GET path (or take response, the answer to a request for it) and the redirects after it, as a
    browser follows them: [(path, status, html)]."""
    response = response if response is not None else client.get(path)
    seen = []
    while True:
        html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        seen.append((path, response.status_code, html))
        target = _on_site(path, response.location) if response.status_code in REDIRECTS and response.location else None
        if not target or len(seen) > hops:
            return seen
        path, response = target, client.get(target)
