"""What the checks of the mistakes the lessons warn about (tests/test_mistakes.py, tests/test_0N_mistakes.py) use.

Some read the submission's own files as text (Python parsed with ``ast``, never imported or run):
the debugger switched on, a secret written in the code or in a committed settings file, a page
template that does not extend the layout. The others are behaviour: hostile text a visitor sends
must come back as text on every page that shows it, and a redirect never leaves the site.
"""
import ast
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

from markupsafe import escape

from stages import left_out, parse_log_line

# Text a visitor might send, each a different way out of the page's text: a script, an event handler,
# an attribute's quotes, and Jinja's own syntax (which runs only when user text becomes template source).
# Each is at most 30 characters, so it also fits stage 4's username.
HOSTILE = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    '" autofocus onfocus="alert(1)',
    "{{7*7}}{%if 1%}ran{%endif%}",
]
# Text in other alphabets and beyond the Basic Multilingual Plane: it must come back exactly as typed.
NON_ASCII = ["Olá, ação", "你好，世界", "🙂👍🏽"]

# Committed settings files: .env itself is local (never handed in, never copied by the grader).
COMMITTED_SETTINGS = (".env.example", ".flaskenv")
TRUE_WORDS = {"1", "true", "yes", "on"}
HASH = re.compile(r"(scrypt|pbkdf2):[^$\s]*\$[^$\s]+\$[0-9a-f]{16,}")
SECRET_NAME = re.compile(r"SECRET_KEY|PASSWORD", re.I)


# --- reading the submission as text ------------------------------------------------------------

def python_files(folder):
    """The submission's own Python files (not its virtualenv, caches or instance folder)."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*.py") if not left_out(p.relative_to(folder)))


def parsed(folder):
    """(path relative to folder, syntax tree) of each Python file that parses."""
    for path in python_files(folder):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
        except SyntaxError:
            continue  # the_app_loads says so
        yield path.relative_to(folder), tree


def settings_file(path):
    """The NAME=value lines of a dotenv file, values without their quotes."""
    settings = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.removeprefix("export ").split("=", 1)
        value = value.split(" #", 1)[0].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        settings[name.strip()] = value
    return settings


def committed_settings(folder):
    """{file name: its settings} for the settings files that are handed in with the code."""
    return {name: settings_file(Path(folder) / name) for name in COMMITTED_SETTINGS if (Path(folder) / name).is_file()}


def _text(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _truthy(node):
    if isinstance(node, ast.Constant):
        value = node.value
        return value is True or (isinstance(value, str) and value.strip().lower() in TRUE_WORDS) or value == 1
    return False


def _target_name(node):
    """The name a value is stored under: x, obj.x, obj["x"]; None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _text(node.slice)
    return None


def _literals(node):
    """The text constants a value can be: "k", x or "k", "k" if c else y (not a call's arguments)."""
    if _text(node):
        return [_text(node)]
    if isinstance(node, ast.BoolOp):
        return [t for value in node.values for t in _literals(value)]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def _stores(tree):
    """(line, name, value) for each assignment, keyword argument and dict entry in the tree."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                yield node.lineno, _target_name(target), node.value
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            yield node.lineno, _target_name(node.target), node.value
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                yield node.lineno, keyword.arg, keyword.value
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if key is not None:
                    yield node.lineno, _text(key), value


def _calls(tree):
    """(line, function name, call) for each call: app.run(...) is "run", getenv(...) "getenv"."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            yield node.lineno, name, node


def debugger_switches(folder):
    """Where the code or a committed settings file turns on Flask's debugger or opens the
    development server to the network, as "file:line: what" strings."""
    found = []
    for path, tree in parsed(folder):
        for line, name, call in _calls(tree):
            keywords = {k.arg: k.value for k in call.keywords}
            if name == "run" and (_truthy(keywords.get("debug")) or _truthy(keywords.get("use_debugger"))):
                found.append(f"{path}:{line}: run(debug=True)")
            host = _text(keywords.get("host")) if name == "run" else None
            if host is not None and host.strip("[]") in ("0.0.0.0", "::", ""):
                found.append(f"{path}:{line}: run(host={host!r}) opens the development server to the network")
            if name in ("setdefault", "putenv") and len(call.args) >= 2 and _text(call.args[0]) == "FLASK_DEBUG" \
                    and _truthy(call.args[1]):
                found.append(f"{path}:{line}: FLASK_DEBUG set to {_text(call.args[1])!r}")
        for line, name, value in _stores(tree):
            if name in ("debug", "DEBUG", "FLASK_DEBUG", "use_debugger") and _truthy(value):
                found.append(f"{path}:{line}: {name} set to {ast.unparse(value)}")
    for file, settings in committed_settings(folder).items():
        if settings.get("FLASK_DEBUG", "").lower() in TRUE_WORDS:
            found.append(f"{file}: FLASK_DEBUG={settings['FLASK_DEBUG']}")
        if settings.get("FLASK_RUN_HOST", "").strip("[]") in ("0.0.0.0", "::"):
            found.append(f"{file}: FLASK_RUN_HOST={settings['FLASK_RUN_HOST']}")
    return found


def secrets_in_code(folder):
    """Where a secret key, a password or a password hash is written into the code, as
    "file:line: what" strings (names of settings, like "FLASK_SECRET_KEY", are not secrets)."""
    found = []
    for path, tree in parsed(folder):
        for line, name, value in _stores(tree):
            if name and SECRET_NAME.search(name):
                found += [f"{path}:{line}: {name} = {text!r}" for text in _literals(value) if text.strip()]
        for line, name, call in _calls(tree):
            if name in ("get", "getenv", "setdefault", "pop") and len(call.args) >= 2 \
                    and SECRET_NAME.search(_text(call.args[0]) or ""):
                found += [f"{path}:{line}: {_text(call.args[0])} falls back to {text!r}"
                          for text in _literals(call.args[1]) if text.strip()]
            if name == "generate_password_hash" and call.args and _text(call.args[0]):
                found.append(f"{path}:{line}: generate_password_hash({_text(call.args[0])!r}): a password in the code")
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                names = [_target_name(s) or "" for s in sides]
                texts = [_text(s) for s in sides if _text(s)]
                if texts and any(re.search("password", n, re.I) for n in names):
                    found.append(f"{path}:{node.lineno}: a password compared with {texts[0]!r}")
            text = _text(node)
            if text and HASH.search(text):
                found.append(f"{path}:{node.lineno}: a password hash written in the code")
    for file, settings in committed_settings(folder).items():
        for name, value in settings.items():
            if SECRET_NAME.search(name) and value:
                found.append(f"{file}: {name} has a value; leave it empty: {name}=")
    return found


def files_opened_without_an_encoding(folder):
    """Where the code opens a file as text without saying its encoding, as "file:line: what" strings.
    Without encoding=..., Python uses the machine's locale: UTF-8 here, cp1252 on many Windows PCs,
    where the first emoji in a chat log is an error (PYTHONWARNDEFAULTENCODING=1 warns of each)."""
    found = []
    for path, tree in parsed(folder):
        for line, name, call in _calls(tree):
            keywords = {k.arg for k in call.keywords}
            if "encoding" in keywords or None in keywords:  # encoding=..., or **options
                continue
            if name == "open" and not (isinstance(call.func, ast.Attribute) and _target_name(call.func.value) == "os"):
                mode = call.args[1] if len(call.args) > 1 else next(
                    (k.value for k in call.keywords if k.arg == "mode"), None)
                if len(call.args) > 3:  # open(path, mode, buffering, encoding)
                    continue
                if mode is None or "b" not in (_text(mode) or ""):
                    found.append(f"{path}:{line}: open(...) in text mode without encoding=\"utf-8\"")
            elif name in ("read_text", "write_text") and len(call.args) < (1 if name == "read_text" else 2):
                found.append(f"{path}:{line}: {name}(...) without encoding=\"utf-8\"")
    return found


def templates_folder(folder):
    folder = Path(folder)
    return folder / "app" / "templates" if (folder / "app" / "templates").is_dir() else folder / "templates"


def templates_not_extending_the_layout(folder):
    """The page templates (every one but the layout, base.html) that do not start by extending it."""
    templates = templates_folder(folder)
    extends = re.compile(r"""\{%-?\s*extends\s+["']base\.html["']\s*-?%\}""")
    return sorted(
        path.name for path in templates.glob("*.html")
        if path.name != "base.html" and not extends.search(path.read_text(encoding="utf-8", errors="replace"))
    )


def nothing_found(found, why):
    """Fail with ``why`` and the places found, one per line, when anything was found."""
    assert not found, f"{why} Found:\n  " + "\n  ".join(found)


# --- behaviour ---------------------------------------------------------------------------------

def shown_as_text(html, text, where):
    """Assert that ``text`` a visitor sent is on the page ``where`` as text: escaped, never markup,
    never run as a template."""
    escaped = str(escape(text))
    assert escaped in html, (
        f"{where} should show {text!r} exactly as it was typed (escaped: {escaped}). "
        + ("It is not there: was the text run as a Jinja template (render_template_string with the visitor's "
           "text in it)? Put user text in a template's variables, never in its source."
           if "{{" in text else "Show it with {{ value }} in the template, which escapes it.")
    )
    if escaped != text:
        assert text not in html, (
            f"{where} puts {text!r} into the page as HTML, so it would run in the browser: never mark a "
            "visitor's text safe (|safe, Markup(...), {% autoescape false %}); {{ value }} escapes it"
        )


def stays_on_this_site(response, what):
    """Assert a redirect leads to a path of this site, whatever the request asked for."""
    assert response.status_code in (301, 302, 303, 307, 308), (
        f"{what} should redirect (302), but answered {response.status_code}")
    target = urllib.parse.urlsplit(response.location)
    assert not target.scheme and not target.netloc and not response.location.startswith(("//", "/\\")), (
        f"{what} redirected to {response.location}: another site, because the target was taken from the "
        "request (?next=...). Redirect only to url_for(...) of your own pages, or to a checked path of this site"
    )


def path_segment(text):
    """Text as one segment of a URL path (a visitor typing it into the address bar)."""
    return urllib.parse.quote(text, safe="")


def output_after_a_barrier(server, visitor):
    """Everything the server wrote up to now: ask for one more page, unique, and wait until the server
    has logged that request (whatever the views printed before it is then in the output too)."""
    marker = f"/no-such-page-{uuid.uuid4().hex}"
    visitor.get(marker)
    assert server.wait_for(marker, timeout=10), (
        f"The server should log each request (the development server's request log); {marker} never showed up"
    )
    return server.output


def password_not_in_output(output, password, where):
    assert password not in output, (
        f"The server's output holds the password typed into {where}: never print or log a password (not even a "
        "wrong one, which is often someone's real password for another site); log the name, if anything"
    )


# --- the clock and the time zone ---------------------------------------------------------------

# The server's clock and time zone for a check that involves the time: around midnight, noon and evening
# (UTC), in zones from -03:00 to +14:00, so a check meets morning, afternoon and evening, 12:xx and 18:xx,
# and a local date that is not UTC's. No local time is within 10 minutes of an hour's end. (Each is one
# more server, so these five, not every clock in every zone.)
MIDNIGHT, NOON, EVENING = "2026-03-01T23:50:10+00:00", "2026-03-01T12:20:10+00:00", "2026-03-01T18:20:10+00:00"
CLOCKS_AND_ZONES = [
    (NOON, "UTC"),                          # 12:20: afternoon from 12:00 on
    (EVENING, "UTC"),                       # 18:20: evening from 18:00 on
    (MIDNIGHT, "America/Sao_Paulo"),        # 20:50, three hours behind UTC
    (MIDNIGHT, "Asia/Kolkata"),             # 05:20 the next day, a half-hour zone
    (MIDNIGHT, "Pacific/Kiritimati"),       # 13:50 the next day, fourteen hours ahead
]
TICK = 120  # seconds a check may take between starting the app and reading the time it shows


def local_time(clock, zone):
    """The wall-clock time (naive) in zone at the instant clock."""
    return datetime.fromisoformat(clock).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def at_any_hour(start_app, stage_env, check):
    """Run check(started_app, expected local time, description) at each of CLOCKS_AND_ZONES."""
    for clock, zone in CLOCKS_AND_ZONES:
        started = start_app(clock=clock, env={**stage_env, "TZ": zone})
        assert not started.error, f"The app should start with TZ={zone}: {started.error}"
        check(started, local_time(clock, zone), f"when the server's clock says {clock} and its zone is {zone}")


def close_after(shown, expected):
    """Whether the time shown is the expected one, or up to TICK seconds later."""
    return 0 <= (shown - expected).total_seconds() <= TICK


# --- links under a URL prefix -------------------------------------------------------------------

class Links(HTMLParser):
    """Where a page leads: every href, src and form action."""

    def __init__(self, html):
        super().__init__()
        self.found = []  # (tag, attribute, value)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src", "action") and value is not None:
                self.found.append((tag, name, value))


def every_link_stays_under(client, prefix, start_pages, limit=40):
    """Visit start_pages and every page of the site they lead to (up to limit): every link, script,
    stylesheet and form action must lead under prefix, and answer."""
    to_visit, seen, problems = [prefix + p for p in start_pages], set(), []
    while to_visit and len(seen) < limit:
        path = to_visit.pop(0)
        if path in seen:
            continue
        seen.add(path)
        with client.get(path) as response:  # a static file's answer holds the file open until closed
            status, html = response.status_code, response.text if response.mimetype == "text/html" else ""
            location = response.location
        if status in (301, 302, 303, 307, 308) and location:  # e.g. a page that asks to sign in first
            target = urllib.parse.urljoin(path, location)
            if not urllib.parse.urlsplit(target).path.startswith(prefix + "/"):
                problems.append(f"{path} redirects to {location}, outside {prefix}/")
            else:
                to_visit.append(target)
            continue
        if status != 200:
            problems.append(f"{path} answered {status}")
            continue
        for tag, attribute, value in Links(html).found:
            target = urllib.parse.urljoin(path, value.replace("&amp;", "&"))
            parts = urllib.parse.urlsplit(target)
            if parts.scheme or parts.netloc or value.startswith("#"):
                continue  # another site, or a place in the same page
            if not (parts.path + "/").startswith(prefix + "/"):
                problems.append(f'{path}: <{tag} {attribute}="{value}"> leads to {parts.path}, outside {prefix}/')
            elif attribute == "action":
                with client.get(target) as response:
                    status = response.status_code
                if status == 404:
                    problems.append(f'{path}: <form action="{value}"> leads to no page (404)')
            elif attribute == "href":
                to_visit.append(target)
    return seen, problems


def last_line(log):
    """(time, role, text) of the last line of a chat log."""
    assert log.is_file(), f"Sending a message should write it to {log.name} in the log folder"
    lines = log.read_bytes().decode("utf-8").splitlines()
    assert lines, f"Sending a message should write a line to {log.name}"
    return parse_log_line(lines[-1])
