"""The checks reach the stage's app only from outside, over HTTP.

The app never runs in the checks' process: tools/grading/app_host.py, started once per pytest
process (``--app-host=sandbox``: in a bubblewrap sandbox of its own, as the grader always runs
it; ``plain``: not isolated), forks one server per check, and the checks get:

- ``RemoteClient``: Werkzeug's test client (the one Flask's is built on: same calls, same
  responses, cookies kept), whose requests travel over HTTP to the server: the one browser
  of every check (``post_form`` fills in a page's form, its CSRF token included);
- ``RemoteApp``: what a check may ask of an app from outside (a new browser, its URL, what
  it printed);
- ``session_data``: what a session cookie holds, if a given key signed it.
"""
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import flask
import pytest
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from werkzeug.test import Client

from grading.sandbox import app_sandbox
from processes import close_input_and_wait, stop_group
from stages import ROOT

APP_HOST = ROOT / "tools" / "grading" / "app_host.py"
START_TIMEOUT = 20  # seconds for the app to import, build and listen
REQUEST_TIMEOUT = 30  # seconds for one HTTP request to the app
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authenticate", "proxy-authorization"}


def cookie_header(client):
    """The Cookie header a browser with this client's cookies sends (for a Socket.IO window)."""
    return {"Cookie": "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())}


def session_data(cookie_value, secret_key):
    """The session a Flask session cookie holds, if secret_key signed it; None if not."""
    signer = flask.Flask("check")
    signer.secret_key = secret_key
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    try:
        return serializer.loads(cookie_value)
    except BadSignature:
        return None


class HttpProxy:
    """A WSGI app that hands each request, as it came, to a real server over HTTP (from ``address``,
    any of 127.0.0.0/8: to the server, a client of that address; default 127.0.0.1)."""

    def __init__(self, port, address=None):
        self.port = port
        self.source = (address, 0) if address else None

    def __call__(self, environ, start_response):
        headers = {key[5:].replace("_", "-").title(): value
                   for key, value in environ.items() if key.startswith("HTTP_")}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").title()] = environ[key]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        # The path as the test wrote it (percent-escapes kept), and the query string however given.
        target = environ["RAW_URI"].split("?", 1)[0]
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT,
                                                source_address=self.source)
        try:
            connection.request(environ["REQUEST_METHOD"], target, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise AssertionError(f"The app's server did not answer {environ['REQUEST_METHOD']} "
                                 f"{target}: {type(error).__name__}: {error}") from None
        finally:
            connection.close()
        start_response(f"{response.status} {response.reason}",
                       [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP])
        return [data]


class RemoteClient(Client):
    """Werkzeug's test client over HTTP: a browser of the app's real server, given by its port or
    URL; ``address``: the client address its requests leave from (default 127.0.0.1)."""

    def __init__(self, server, address=None):
        port = server if isinstance(server, int) else urllib.parse.urlsplit(server).port
        super().__init__(HttpProxy(port, address), flask.Response)

    cookie_header = cookie_header

    def post_form(self, path, fields=None, **options):
        """Open the page at path and send its form as a browser does: with its CSRF token and
        ``fields``. The answer (``follow_redirects=True`` and other options as for post())."""
        page = self.get(path)
        token = csrf_token(page.text, f"The page {path} (answered {page.status_code})")
        return self.post(path, data={"csrf_token": token, **(fields or {})}, **options)


class _Inputs(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.inputs = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "input":
            self.inputs.append(dict(attrs))


def csrf_token(html, where="The page"):
    """The value of the page's hidden csrf_token field (Flask-WTF's), as a browser reads it."""
    token = next((field.get("value") for field in _Inputs(html).inputs if field.get("name") == "csrf_token"), None)
    assert token, (f'{where} should show a form with a hidden <input name="csrf_token" value="...">'
                   " ({{ form.hidden_tag() }} or {{ form.csrf_token }})")
    return token


class RemoteServer:
    """One server of the student's app, forked by the app host."""

    def __init__(self, host, ident, output):
        self.host, self.ident, self.output_path = host, ident, Path(output)
        self.port = None
        self.error = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self):
        try:
            return self.output_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def wait_for(self, text, timeout=START_TIMEOUT, after=0):
        """The first line of the server's output from line `after` on that holds text; None on timeout.

        The output is a file another process writes: there is no event to await, so it is read
        again every 20 ms."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.output.splitlines(keepends=True)[after:] if text in line), None)
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    @property
    def lines(self):
        return self.output.splitlines(keepends=True)

    def limit_file_size(self, size):
        """Writes past size bytes fail from now on (RLIMIT_FSIZE): a full disk for this server."""
        answer = self.host.request(op="limit", id=self.ident, file_size=size)
        assert answer and answer.get("limited"), "Could not limit the server's file size"

    def stop(self):
        if self.port is not None and self.ident is not None:
            self.host.request(op="stop", id=self.ident)
            self.port = None

    def interrupt(self):
        """What Ctrl+C is to a local server: here the server is stopped outright. Its exit code: 0."""
        port = self.port
        self.stop()
        self.port = port  # where it was, for a restart on the same port
        self.ident = None
        return 0


class AppHost:
    """tools/grading/app_host.py in a child process, and the answers it sends back."""

    def __init__(self, command, env, served_from=None):
        self.served_from = {str(k): str(v) for k, v in (served_from or {}).items()}
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        self.answers = {}
        self.changed = threading.Condition()
        self.count = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            if isinstance(answer, dict) and isinstance(answer.get("id"), str):
                with self.changed:
                    # The first answer counts: a child that said why it could not start then
                    # exits, and the host reports that exit too.
                    self.answers.setdefault(answer["id"], answer)
                    self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def request(self, timeout=START_TIMEOUT, **fields):
        with self.lock:
            self.process.stdin.write((json.dumps(fields) + "\n").encode("utf-8"))
            self.process.stdin.flush()
        with self.changed:
            self.changed.wait_for(lambda: fields["id"] in self.answers or self.process.poll() is not None, timeout)
            return self.answers.pop(fields["id"], None)

    def start(self, folder, env, config, output, cwd=None, prefix="", clock=None, port=0, timeout=START_TIMEOUT):
        """A new server of the app in folder; its .error says why when it did not start."""
        with self.lock:
            self.count += 1
            ident = str(self.count)
        server = RemoteServer(self, ident, output)
        Path(output).touch()
        # The submission as handed in is served from the app's own copy of it.
        folder = self.served_from.get(str(folder), str(folder))
        cwd = self.served_from.get(str(cwd), str(cwd)) if cwd else folder
        answer = self.request(op="start", id=ident, folder=folder, cwd=cwd,
                              env={**base_env(), **env}, config=config, output=str(output),
                              prefix=prefix, clock=clock, port=port, timeout=timeout)
        if answer is None:
            self.request(op="stop", id=ident, timeout=5)
            server.error = (f"The app did not finish importing within {timeout:g} s. "
                            "Is app.run() or socketio.run() called at import time? Put it under "
                            "`if __name__ == \"__main__\":`. Otherwise look for an endless loop or a "
                            "wait at module level.")
        elif isinstance(answer.get("port"), int):
            server.port = answer["port"]
        elif "exited" in answer:
            server.error = (f"Importing the app ended its Python process (exit status {answer['exited']}) "
                            "before it was serving: does the app call exit() or os._exit()?")
        else:
            server.error = str(answer.get("error") or "The server did not start")
        return server

    def close(self):
        if not close_input_and_wait(self.process, timeout=5):
            stop_group(self.process, signal.SIGKILL)
        self.process.stdout.close()


def base_env():
    """What every server of the app sees besides the check's own settings: what a student's own
    shell would give `flask run`, nothing of the grader's or the checks' environment."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
           # A careful reviewer's warnings: a text file opened without an encoding says so.
           "PYTHONWARNDEFAULTENCODING": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    if os.environ.get("TZ"):
        env["TZ"] = os.environ["TZ"]
    return env


def launch_host(mode, hide=(), writable=(), served_from=None, readable=()):
    """The app host, in its own bubblewrap sandbox when mode is "sandbox": it sees the folders in
    `readable` (read-only) and `writable`, and nothing else of the machine but what running Python needs.

    served_from maps a folder to the one its servers run from (the grader's: the submission as
    handed in, to the app's copy of it)."""
    command = [sys.executable, str(APP_HOST)]
    if mode == "sandbox":
        command = app_sandbox(command, hide=hide, writable=writable, env=base_env(), readable=readable)
    return AppHost(command, base_env(), served_from)


class RemoteApp:
    """The app as a check sees it: a server to browse, and what it printed."""

    def __init__(self, server):
        self._server = server

    @property
    def url(self):
        return self._server.url

    def test_client(self):
        return RemoteClient(self._server.port)

    client = test_client

    def output(self):
        return self._server.output

    def __getattr__(self, name):
        pytest.fail(f"This check reaches into the app object (app.{name}), which a grader never "
                    "imports: a check must observe the app from outside (a bug in the suite, not in "
                    "the graded folder).", pytrace=False)
