"""Stage 7's chat windows in a real browser, as the stage 7 browser tests drive them.

Each person has their own browser context (own cookies, like two different computers).
Playwright watches each page's WebSocket, so a test can tell that a message really
travelled over it, and wait for frames instead of sleeping.
"""
import re

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from support.sockets import ATTENDANT_NAME, ATTENDANT_PASSWORD

CHAT_URL = re.compile(r"/(user|attendant)/(\d{8}-\d{6}(-\d+)?)$")
UPGRADE_PACKET = "5"  # Engine.IO: the client's last word when it moves from polling to the WebSocket


def carries(text):
    """A WebSocket frame predicate: the frame's payload has ``text`` in it."""
    return lambda payload: isinstance(payload, str) and text in payload


class ChatWindow:
    """One person's chat page, and the Socket.IO WebSocket it opened."""

    def __init__(self, page, role):
        self.page, self.role = page, role
        self.socket = None  # the page's latest Socket.IO WebSocket
        self.upgraded = False  # that socket now carries the events (no more HTTP polling)
        self.failed_requests = []
        page.on("websocket", self._opened)
        page.on("response", self._answered)

    def _answered(self, response):
        if response.status >= 400:
            self.failed_requests.append(f"{response.request.method} {response.url} -> {response.status}")

    def _opened(self, socket):
        if "/socket.io/" not in socket.url:
            return
        self.socket, self.upgraded = socket, False
        socket.on("framesent", lambda payload: self._sent(socket, payload))

    def _sent(self, socket, payload):
        if socket is self.socket and payload == UPGRADE_PACKET:
            self.upgraded = True

    @property
    def messages(self):
        return self.page.locator("#messages li")

    @property
    def chat_lines(self):
        """The messages on the page, without the notice "No messages yet."."""
        return self.page.locator("#messages li:not(.notice)")

    @property
    def chat_id(self):
        return self.page.locator("#chat").get_attribute("data-chat-id")

    def wait_until_live(self, timeout=None):
        """Wait until the page has joined its session and talks over a WebSocket. ``timeout`` (ms)
        is how long joining may take (a window reconnecting to a restarted server); by default
        an expect()'s."""
        try:
            expect(self.page.locator("#chat"), f"The {self.role}'s chat page should say its role").to_have_attribute(
                "data-role", self.role)
            expect(self.page.get_by_role("button", name="Send"),
                   f"The {self.role}'s Send button should be usable once the page has joined the chat"
                   ).to_be_enabled(timeout=timeout)
            # A page that never opens or never upgrades a WebSocket stays on HTTP long-polling.
            if self.socket is None:
                socket = self.page.wait_for_event("websocket", lambda socket: "/socket.io/" in socket.url)
                if self.socket is None:
                    self._opened(socket)
            if not self.upgraded:
                self.socket.wait_for_event("framesent", lambda payload: payload == UPGRADE_PACKET)
                self.upgraded = True
        except (AssertionError, PlaywrightError) as error:
            raise AssertionError(
                f"The {self.role}'s chat page never went live: it should join its chat session over a "
                f"WebSocket (not stay on HTTP polling).{self._failed_requests_hint()}\n{error}") from error

    def _failed_requests_hint(self):
        if not self.failed_requests:
            return ""
        hint = "\nRequests of this page that failed: " + "; ".join(self.failed_requests)
        if any("socket.io.min.js" in failed for failed in self.failed_requests):
            hint += ("\nThe Socket.IO browser client is missing: `make test` (or `make stage 7`) "
                     "fetches it into app/static/vendor/.")
        return hint

    def wait_for_socket(self, timeout):
        """Wait up to ``timeout`` ms until the page has opened its next WebSocket (after forget_socket())."""
        if self.socket is None:
            self.page.wait_for_event("websocket", lambda socket: "/socket.io/" in socket.url, timeout=timeout)

    def forget_socket(self):
        """The page's WebSocket is gone (a reload, a server that stopped): the next one it opens
        is the one wait_until_live() waits for."""
        self.socket, self.upgraded = None, False

    def reload(self):
        """Reload the page; it opens a new WebSocket, which wait_until_live() waits for."""
        self.forget_socket()
        self.page.reload()

    def send(self, text):
        self.page.locator("#text").fill(text)
        self.page.get_by_role("button", name="Send").click()

    def mark_page(self):
        """Leave a mark in the page: it survives everything but a reload or a navigation."""
        self.page.evaluate("window.sameChatPage = true")

    def still_same_page(self):
        return self.page.evaluate("window.sameChatPage === true")


def start_chat(new_context, url, from_home=False):
    """A user opens the User page, presses 'Start a chat', and lands on their chat page."""
    page = new_context().new_page()
    if from_home:
        page.goto(url + "/")
        link = page.locator("main").get_by_role("link", name="User", exact=True)
        expect(link, "The home page's User link should open its own window").to_have_attribute("target", "user")
        with page.context.expect_page() as opened:
            link.click()
        page = opened.value
    else:
        page.goto(url + "/user")
    user = ChatWindow(page, "user")
    page.get_by_role("button", name="Start a chat").click()
    expect(page, "'Start a chat' should lead to /user/<session ID>").to_have_url(CHAT_URL)
    user.wait_until_live()
    return user


def sign_in(new_context, url, page=None):
    """An attendant opens the list of sessions, is sent to sign in, and signs in; return the list page.
    ``page``: a page of a browser that is already open (a new tab of the user's, say)."""
    page = page or new_context().new_page()
    page.goto(url + "/attendant")
    expect(page, "The list of sessions should ask an attendant to sign in first").to_have_url(url + "/signin")
    page.get_by_label("Name").fill(ATTENDANT_NAME)
    page.get_by_label("Password").fill(ATTENDANT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page, "Signing in should lead to the list of sessions").to_have_url(url + "/attendant")
    return page


def join_chat(new_context, url, chat_id, page=None):
    """An attendant signs in (unless ``page`` is already signed in), opens the list of sessions
    (where signing in lands already) and picks the one with this ID."""
    page = page or sign_in(new_context, url)
    attendant = ChatWindow(page, "attendant")
    if page.url != url + "/attendant":
        page.goto(url + "/attendant")
    link = page.locator(f'main a[href$="/attendant/{chat_id}"]')
    expect(link, f"The attendant's list should link to the session {chat_id}").to_have_count(1)
    link.click()
    expect(page, "The session's link should open /attendant/<session ID>").to_have_url(CHAT_URL)
    attendant.wait_until_live()
    assert attendant.chat_id == chat_id, f"The attendant should be in session {chat_id}, not {attendant.chat_id}"
    return attendant


def send_and_see(sender, receiver, text):
    """``sender`` sends; the frame leaves over its WebSocket and reaches ``receiver``'s WebSocket."""
    with sender.socket.expect_event("framesent", carries(text)):
        with receiver.socket.expect_event("framereceived", carries(text)):
            sender.send(text)
    for window in (receiver, sender):
        expect(window.messages.filter(has_text=text),
               f"The {window.role}'s page should show the message once, without a reload").to_have_count(1)
