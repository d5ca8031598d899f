"""Chat windows for the stage 7 tests: one API, two ways to reach the server.

A window is what one browser window of the chat does, without the browser: it
connects, joins a session, emits events and keeps every event the server sends
it, in the order the server sent them. A test awaits an event (with a time
limit) instead of sleeping, and proves that something did NOT arrive with a
barrier the server itself provides:

- ``emit`` returns once the server has handled the event (it asks for Socket.IO's
  acknowledgement, which the server sends after its handler's own events), so
  whatever the server sent this window in answer is already in ``received()``
  (through a message queue such as Redis, answers may come later: wait for them);
- ``barrier()`` sends one more request and waits for its answer: anything the
  server sent this window before (another window's message to the room, say)
  arrived before that answer.

``SocketWindow`` is a real python-socketio client over WebSocket of the app's server
(``window()`` opens one carrying a browser's cookies; ``start_chat`` and ``sign_in`` are what
the pages do, with a browser of support/remote.py).
"""
import functools
import re
import threading
import time

import engineio
import pytest
import socketio
from werkzeug.security import generate_password_hash

from support.remote import RemoteClient

WAIT = 10  # seconds to wait for any one event before a test fails
# The attendant the stage 7 tests sign in as: the name and a password hash, as .env has them.
ATTENDANT_NAME, ATTENDANT_PASSWORD = "alex", "correct horse battery staple"
ATTENDANT_ENV = {
    "FLASK_ATTENDANT_NAME": ATTENDANT_NAME,
    # A cheap hash (a thousand rounds of PBKDF2): Werkzeug's default, scrypt, costs 80 ms of CPU
    # each time the app checks a password, and the stage 7 checks sign in some forty times.
    "FLASK_ATTENDANT_PASSWORD_HASH": generate_password_hash(ATTENDANT_PASSWORD, method="pbkdf2:sha256:1000"),
}
# The stage 7 checks' settings. Every window a check opens comes from 127.0.0.1, one client
# address to the server, which allows an address 5 messages a second: a check that sends faster
# is about something else, so it may send 10,000. The checks of the limits set their own.
STAGE_7_ENV = {**ATTENDANT_ENV, "FLASK_MESSAGE_RATE": "10000 per second"}
NO_SOCKETIO = "Stage 7 should set up Flask-SocketIO: create_app() should call socketio.init_app(app, ...)"


ID_SHAPE = re.compile(r"[0-9]{8}-[0-9]{6}(-[0-9]+)?")


def start_chat(client, prefix=""):
    """Press "Start a chat" on the user page (under ``prefix``) like a browser; the new chat's ID."""
    response = client.post_form(f"{prefix}/user")
    assert response.status_code == 302, (
        f'Pressing "Start a chat" on {prefix}/user should redirect to the chat page, but answered {response.status_code}')
    found = re.fullmatch(rf"{re.escape(prefix)}/user/([^/]+)", response.location or "")
    assert found, f"Starting a chat from {prefix}/user should redirect to {prefix}/user/<session id>, not to {response.location}"
    assert ID_SHAPE.fullmatch(found.group(1)), f"A session ID looks like YYYYMMDD-hhmmss[-N]; got {found.group(1)!r}"
    return found.group(1)


def sign_in(client, name=ATTENDANT_NAME, password=ATTENDANT_PASSWORD, path="/signin"):
    """Fill in and post the attendant's sign-in form like a browser; the answer."""
    return client.post_form(path, {"name": name, "password": password})


def signed_in(client):
    """``client`` (a browser), its attendant signed in. The attendant signs in once per check: a
    sign-in ends the one before."""
    response = sign_in(client)
    assert response.status_code == 302 and response.location == "/attendant", (
        "Signing in with the attendant's name and password (FLASK_ATTENDANT_NAME and "
        f"FLASK_ATTENDANT_PASSWORD_HASH) should redirect to /attendant; got {response.status_code} {response.location}")
    return client


def window(server, client=None):
    """A connected chat window of ``server`` (anything with a url) carrying the cookies of ``client``
    (a browser), or of a new browser; closed by close_windows() after the test."""
    browser = client or RemoteClient(server.url)
    opened = SocketWindow(server.url, browser)
    OPEN_WINDOWS.append(opened)
    try:
        return opened.connect()
    except socketio.exceptions.ConnectionError as error:
        raise AssertionError(f"A chat window could not connect to the app ({error}). {NO_SOCKETIO}") from None


OPEN_WINDOWS = []  # the windows window() opened, closed by close_windows() after each test


def close_windows():
    while OPEN_WINDOWS:
        OPEN_WINDOWS.pop().disconnect(wait=1)


class _InOrderEngineIO(engineio.Client):
    """Engine.IO's client hands each incoming packet to a thread of its own, so events would
    reach a window in any order; here each is handled on the reading thread, in wire order."""

    def _trigger_event(self, event, *args, **kwargs):
        kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)

    def _connect_websocket(self, *args, **kwargs):
        connected = super()._connect_websocket(*args, **kwargs)
        if connected:
            # websocket-client's close() would wait up to 3 s for the server's closing frame, which
            # the reading thread takes: each refused or closed window would cost 3 s. Do not wait.
            self.ws.close = functools.partial(self.ws.close, timeout=0)
        return connected


class _InOrderClient(socketio.Client):
    def _engineio_client_class(self):
        return _InOrderEngineIO


class SocketWindow:
    """A real Socket.IO client (python-socketio) of a running server, keeping every event it
    receives in the server's order. Each event is a (name, payload) pair; taking one removes it."""

    def __init__(self, base_url, browser=None, headers=None):
        """``browser``: the client (support/remote.py) whose cookies the window carries."""
        self.pending = []  # events received and not yet taken, oldest first
        self.arrived = threading.Condition()
        self.base_url = base_url
        self.headers = {**(browser.cookie_header() if browser else {}), **(headers or {})}
        self.client = _InOrderClient(reconnection=False)
        self.closed = threading.Event()
        self.client.on("*", self._record)  # every event the server sends, in order
        self.client.on("disconnect", self._on_disconnect)

    def _on_disconnect(self, reason=None):
        self.closed.set()
        with self.arrived:
            self.arrived.notify_all()

    def _closed(self):
        return self.closed.is_set()

    def connect(self, transports=("websocket",)):
        self.client.connect(self.base_url, headers=self.headers, transports=list(transports),
                            wait_timeout=WAIT)
        return self

    @property
    def connected(self):
        return self.client.connected

    @property
    def transport(self):
        return self.client.transport()

    def emit(self, event, *args, answered=True):
        """With ``answered``: return once the server acknowledged the event (it does so after its
        handler ran, and after every event that handler sent this window), or closed the connection."""
        data = None if not args else args[0] if len(args) == 1 else tuple(args)
        done = threading.Event()
        try:
            self.client.emit(event, data, callback=(lambda *_: done.set()) if answered else None)
        except socketio.exceptions.BadNamespaceError:  # the server closed the connection: nothing is sent
            assert self.closed.is_set(), f"'{event}' was sent on a window that is not connected"
            return
        if not answered:
            return
        deadline = time.monotonic() + WAIT
        while not done.wait(0.05):
            if self.closed.is_set():  # the server closed the connection instead
                return
            assert time.monotonic() < deadline, f"The server did not finish handling '{event}' within {WAIT} s"

    def disconnect(self, wait=WAIT):
        """Close the window and return once the server has handled it (its disconnect handler
        ran): the window says goodbye (Socket.IO, then Engine.IO), and the server, having handled
        that, closes the connection. Without waiting for that, a window that connects next could
        reach the server before it knew this one had gone."""
        eio = self.client.eio
        ws = getattr(eio, "ws", None)  # the WebSocket, once the connection is on one
        if self.client.connected and ws is not None:
            self.client._send_packet(self.client.packet_class(socketio.packet.DISCONNECT, namespace="/"))
            eio._send_packet(engineio.packet.Packet(engineio.packet.CLOSE))
            self.closed.wait(wait)
        if self.client.connected:  # not on a WebSocket, or the server did not close it in time
            self.client.disconnect()
        if ws is not None:
            ws.shutdown()  # this side's socket, whoever closed the connection

    # --- what a test does with a window
    def _record(self, name, payload):
        with self.arrived:
            self.pending.append((name, payload))
            self.arrived.notify_all()

    def received(self, event=None):
        """Take every event that arrived so far: the payloads of those named ``event``, or,
        with no name, all of them as (name, payload) pairs. The others are taken too."""
        with self.arrived:
            taken, self.pending = self.pending, []
        return [payload for name, payload in taken if name == event] if event else taken

    def wait_for(self, *events, when=""):
        """Take the events up to and including the next one named in ``events`` (as (name, payload)
        pairs), waiting for it up to WAIT seconds (the server may send it later, from another thread)."""
        deadline = time.monotonic() + WAIT
        with self.arrived:
            while True:
                found = [number for number, (name, _) in enumerate(self.pending) if name in events]
                if found:
                    taken, self.pending = self.pending[:found[0] + 1], self.pending[found[0] + 1:]
                    return taken
                left = deadline - time.monotonic()
                if left <= 0 or self._closed():
                    raise AssertionError(
                        f"No '{' or '.join(events)}' event arrived within {WAIT} s {when}; got {self.pending}".rstrip())
                self.arrived.wait(left)

    def expect(self, event, when=""):
        """The payload of the next ``event`` the server sent this window (the events before it stay)."""
        deadline = time.monotonic() + WAIT
        with self.arrived:
            while True:
                for number, (name, payload) in enumerate(self.pending):
                    if name == event:
                        del self.pending[number]
                        return payload
                left = deadline - time.monotonic()
                if left <= 0 or self._closed():
                    raise AssertionError(f"No '{event}' event arrived within {WAIT} s {when}".rstrip())
                self.arrived.wait(left)

    def barrier(self):
        """Take every event the server sent this window before it answers a request sent now: the
        request is an empty message, which the server refuses (a chat_error only this window gets)."""
        self.emit("message", {"text": ""})
        return self.wait_for("chat_error", when="for an empty message")[:-1]

    def join(self, chat_id, role):
        """Join a session as the chat page does, asking for ``role`` (the server decides: a browser
        gets a role only if it has it); the first event of the answer must be the history, as that
        role. Take every event so far; return the history."""
        self.emit("join", {"chat_id": chat_id, "role": role})
        # (Through a message queue the answer may come after the acknowledgement: wait for it.)
        got = self.wait_for("history", "chat_error", when=f"after joining session {chat_id}") + self.received()
        assert got[0][0] == "history", (
            f"Joining session {chat_id} as {role} should answer with a 'history' event first; got {got}")
        history = got[0][1]
        assert history.get("role") == role, (
            f"This window should have joined session {chat_id} as the {role}; history says {history.get('role')!r}")
        return history

    def send(self, text):
        """Send a chat message; return once the server has handled it."""
        self.emit("message", {"text": text})

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
    sent it before (a barrier), so no other message may be waiting. ``why``: the failure's message."""
    outsider.send(text)
    got = [(name, payload) for name, payload in outsider.wait_for("message", "chat_error", when="(its own message)")
           if name in ("message", "chat_error")]
    assert got[-1][0] == "message" and got[-1][1]["text"] == text, (
        f"A window should get its own message {text!r} back; got {got}")
    assert got[:-1] == [], f"{why}; it got {got[:-1]}"


def connect_windows(url, browsers):
    """Connect one window of ``url`` for each browser in ``browsers`` at once (a thread each); return them."""
    windows = [None] * len(browsers)

    def connect(number, browser):
        windows[number] = SocketWindow(url, browser).connect()

    threads = [threading.Thread(target=connect, args=pair) for pair in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    return [window for window in windows if window is not None]


def disconnect_windows(windows):
    """Close many windows at once."""
    threads = [threading.Thread(target=window.disconnect) for window in windows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)


def served(start_app, env):
    """One more server of the stage (start_app's), started with exactly ``env``."""
    started = start_app(env=env)
    if started.error:
        pytest.fail(f"The stage 7 app could not start:\n  {started.error}", pytrace=False)
    return started
