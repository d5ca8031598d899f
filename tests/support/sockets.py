"""Real Socket.IO clients for tests against a running stage 7 server.

A ``ChatWindow`` is what one browser window of the chat does, without the
browser: it connects over the WebSocket transport, joins a session and keeps
every event the server sends it in a queue per event name, so a test awaits
an event (with a time limit) instead of sleeping.
"""
import functools
import http.cookiejar
import queue
import re
import threading
import urllib.parse
import urllib.request

import socketio
from werkzeug.security import generate_password_hash

WAIT = 10  # seconds to wait for any one event before a test fails
# The attendant the stage 7 tests sign in as: the name and a password hash, as .env has them.
ATTENDANT_NAME, ATTENDANT_PASSWORD = "alex", "correct horse battery staple"
ATTENDANT_ENV = {
    "FLASK_ATTENDANT_NAME": ATTENDANT_NAME,
    "FLASK_ATTENDANT_PASSWORD_HASH": generate_password_hash(ATTENDANT_PASSWORD),
    # A short grace before "left": the live tests' windows close and nobody waits long.
    "FLASK_LEAVE_GRACE_SECONDS": "0.5",
}
EVENTS = ("history", "message", "notice", "presence", "ended", "sessions", "session", "chat_error")


class Browser:
    """One browser's cookies: the chats it started, and whether its attendant signed in."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _post_form(self, path, fields):
        """Fill in the form on ``path`` (its CSRF token included) and post it; return the final URL."""
        with self.opener.open(f"{self.base_url}{path}", timeout=WAIT) as response:
            page = response.read().decode("utf-8")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, f"The page {path} should have a form with a hidden csrf_token field"
        form = urllib.parse.urlencode({"csrf_token": token.group(1), **fields}).encode()
        with self.opener.open(f"{self.base_url}{path}", data=form, timeout=WAIT) as response:
            return response.geturl()  # urllib follows the redirect

    def start_chat(self):
        """Start a chat session the way the user page does; return its ID."""
        final_url = self._post_form("/user", {})
        match = re.search(r"/user/([^/?#]+)$", final_url)
        assert match, f"Starting a chat should redirect to /user/<session id>, but it ended at {final_url}"
        return match.group(1)

    def sign_in(self, name=ATTENDANT_NAME, password=ATTENDANT_PASSWORD):
        final_url = self._post_form("/signin", {"name": name, "password": password})
        assert final_url.endswith("/attendant"), (
            f"Signing in as the attendant should lead to /attendant, but it ended at {final_url}")
        return self

    @property
    def cookie(self):
        return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in self.jar)}

    def window(self, **kwargs):
        """A chat window of this browser (it carries the browser's cookie)."""
        return ChatWindow(self.base_url, headers=self.cookie, **kwargs)


def start_chat(base_url):
    """Start a chat session in a new browser; return (session ID, that browser)."""
    browser = Browser(base_url)
    return browser.start_chat(), browser


class ChatWindow:
    """One chat window: a python-socketio client whose events land in queues."""

    def __init__(self, base_url, headers=None):
        self.base_url = base_url
        self.headers = headers or {}
        self.client = socketio.Client(reconnection=False)
        self.queues = {name: queue.Queue() for name in EVENTS}
        for name in EVENTS:
            self.client.on(name, self.queues[name].put)

    def connect(self, transports=("websocket",)):
        self.client.connect(self.base_url, headers=self.headers, transports=list(transports),
                            wait_timeout=WAIT)
        # On disconnect, websocket-client's close() waits up to 3 s for the server's
        # closing frame, which the client's own reader thread has usually taken
        # already: each disconnect would cost 3 s. Wait a moment instead.
        ws = getattr(self.client.eio, "ws", None)
        if ws is not None and hasattr(ws, "close"):
            ws.close = functools.partial(ws.close, timeout=0.2)
        return self

    @property
    def transport(self):
        return self.client.transport()

    def join(self, chat_id, role):
        """Join a session (the server decides the role: ``role`` is what the test expects);
        return the history the server answers with."""
        self.client.emit("join", {"chat_id": chat_id})
        history = self.expect("history", f"after joining session {chat_id} as {role}")
        assert history["role"] == role, f"This window should have joined as the {role}; it is the {history['role']}"
        return history

    def send(self, text):
        self.client.emit("message", {"text": text})

    def expect(self, event, when=""):
        """The next ``event`` the server sent this window; fails the test after WAIT seconds."""
        try:
            return self.queues[event].get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(
                f"No '{event}' event arrived within {WAIT} s {when}".rstrip()
            ) from None

    def received(self, event):
        """Every ``event`` that arrived so far and was not yet taken with expect()."""
        items = []
        while True:
            try:
                items.append(self.queues[event].get_nowait())
            except queue.Empty:
                return items

    def disconnect(self):
        if self.client.connected:
            self.client.disconnect()

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.disconnect()


def converse(conversation, windows, why=""):
    """Each (sender, role, text) of ``conversation`` sends its text in turn; every (name, window)
    of ``windows`` must get it, as that role's message, before the next one is sent.
    ``why`` is added to a failure's message: what the student should look at."""
    for sender, role, text in conversation:
        sender.send(text)
        for name, win in windows:
            got = win.expect("message", f"in the {name} window after the {role} sent {text!r}")
            assert (got["role"], got["text"]) == (role, text), (
                f"The {name} window should get the {role}'s message {text!r}; got {got}" + (f". {why}" if why else ""))


def hears_nothing_else(outsider, text, why):
    """``outsider`` sends ``text`` and gets it back: its own echo arrives after anything the server
    sent it before (a barrier), so no other message or notice may be waiting. ``why``: the failure's message."""
    outsider.send(text)
    echo = outsider.expect("message", "(its own message)")
    assert echo["text"] == text, f"A window should get its own message {text!r} back; got {echo}"
    assert outsider.received("message") == [] and outsider.received("notice") == [], why


def connect_windows(browsers):
    """Connect one window of each browser in ``browsers`` at once (a thread each); return them."""
    windows = [None] * len(browsers)

    def connect(number, browser):
        windows[number] = browser.window().connect()

    threads = [threading.Thread(target=connect, args=pair) for pair in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    return [window for window in windows if window is not None]


def disconnect_windows(windows):
    """Close many windows at once: each close waits a moment for the server's answer."""
    threads = [threading.Thread(target=window.disconnect) for window in windows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
