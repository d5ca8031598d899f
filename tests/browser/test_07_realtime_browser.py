"""Stage 7 in a real browser: a user and an attendant chatting live, over a WebSocket.

Each person has their own browser context (own cookies, like two different computers).
Playwright watches each page's WebSocket, so the tests can tell that a message really
travelled over it, and wait for frames instead of sleeping.
"""
import json
import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from support.sockets import ATTENDANT_ENV, ATTENDANT_NAME, ATTENDANT_PASSWORD

STAGE = 7
pytestmark = pytest.mark.browser
GRACE_SECONDS = 2  # before "left": a reload here is back well within it


@pytest.fixture
def stage_env(stage_env):
    """The shared test environment, plus an attendant (name and password hash, as in .env)."""
    return {**stage_env, **ATTENDANT_ENV, "FLASK_LEAVE_GRACE_SECONDS": str(GRACE_SECONDS)}

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
    def chat_id(self):
        return self.page.locator("#chat").get_attribute("data-chat-id")

    def wait_until_live(self):
        """Wait until the page has joined its session and talks over a WebSocket."""
        try:
            expect(self.page.locator("#chat"), f"The {self.role}'s chat page should say its role").to_have_attribute(
                "data-role", self.role)
            expect(self.page.get_by_role("button", name="Send"),
                   f"The {self.role}'s Send button should be usable once the page has joined the chat"
                   ).to_be_enabled()
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

    def reload(self):
        """Reload the page; it opens a new WebSocket, which wait_until_live() waits for."""
        self.socket, self.upgraded = None, False
        self.page.reload()

    def send(self, text):
        self.page.locator("#text").fill(text)
        self.page.get_by_role("button", name="Send").click()

    def mark_page(self):
        """Leave a mark in the page: it survives everything but a reload or a navigation."""
        self.page.evaluate("window.sameChatPage = true")

    def still_same_page(self):
        return self.page.evaluate("window.sameChatPage === true")


def start_chat(new_context, url, label="user", from_home=False):
    """A user opens the User page, presses 'Start a chat', and lands on their chat page."""
    page = new_context(label).new_page()
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


def sign_in(new_context, url, label="attendant"):
    """An attendant opens the list of sessions, is sent to sign in, and signs in; return the list page."""
    page = new_context(label).new_page()
    page.goto(url + "/attendant")
    expect(page, "The list of sessions should ask an attendant to sign in first").to_have_url(url + "/signin")
    page.get_by_label("Name").fill(ATTENDANT_NAME)
    page.get_by_label("Password").fill(ATTENDANT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page, "Signing in should lead to the list of sessions").to_have_url(url + "/attendant")
    return page


def join_chat(new_context, url, chat_id, label="attendant", page=None):
    """An attendant signs in (unless ``page`` is already signed in), opens the list of sessions
    and picks the one with this ID."""
    page = page or sign_in(new_context, url, label)
    attendant = ChatWindow(page, "attendant")
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


def test_user_and_attendant_chat_both_ways_live_over_a_websocket(live_server, new_context, step):
    """A user and an attendant chat both ways live, over a WebSocket, with no reload.

    Hint: chat.js joins on every connect and adds each message with textContent;
    the server emits each message to its session's room.
    """
    with step("the user opens their window from the home page and starts a chat"):
        user = start_chat(new_context, live_server.url, from_home=True)
    with step("the attendant joins that chat from the list of sessions"):
        attendant = join_chat(new_context, live_server.url, user.chat_id)
        user.mark_page()
        attendant.mark_page()
    with step("the user sends; it reaches the attendant over the WebSocket"):
        send_and_see(user, attendant, "Hello, my parcel has not arrived")
    with step("the attendant replies; it reaches the user over the WebSocket"):
        send_and_see(attendant, user, "Sorry to hear that, let me look")
        expect(user.messages.filter(has_text=re.compile("parcel|Sorry")),
               "Both messages should be listed in the order they were sent").to_contain_text(
            ["Hello, my parcel has not arrived", "Sorry to hear that, let me look"])
    with step("the user sends HTML; the attendant sees it as literal text"):
        payload = '<img src="x" onerror="window.injected = 1"><b>bold</b> <script>window.injected = 2</script>'
        user.send(payload)
        item = attendant.messages.filter(has_text="bold")
        expect(item, "The attendant should see exactly what the user typed, tags included").to_contain_text(payload)
        expect(attendant.page.locator("#messages img, #messages b, #messages script"),
               "Typed HTML must never become elements on the attendant's page").to_have_count(0)
        assert attendant.page.evaluate("window.injected") is None, "Typed script must never run on the other side"
    with step("neither page reloaded during the chat"):
        assert user.still_same_page() and attendant.still_same_page(), (
            "The messages should arrive without reloading the page (the page was reloaded or left)")


def test_a_second_chat_session_sees_nothing_of_the_first(live_server, new_context, step):
    """Two chat sessions never see each other's messages.

    Hint: emit a message to its session's room (to=chat_id), never to everyone.
    """
    with step("session one: a user starts a chat and an attendant joins it"):
        user = start_chat(new_context, live_server.url)
        attendant = join_chat(new_context, live_server.url, user.chat_id)
    with step("session two: another user, in another browser, starts a chat"):
        other = start_chat(new_context, live_server.url, label="other-user")
        assert other.chat_id != user.chat_id, (
            f"A second chat should get its own session ID, but both got {user.chat_id}")
    with step("session one talks"):
        send_and_see(user, attendant, "Only for session one")
    with step("session two talks, then checks it never got session one's message"):
        # The server sent session one's message before this one: had it leaked, it would be here already.
        send_and_see(other, other, "Session two here")
        expect(other.messages.filter(has_text="Only for session one"),
               "A message of one chat session must never reach another session's page").to_have_count(0)
    with step("session one talks again, then checks it never got session two's message"):
        send_and_see(attendant, user, "Still only session one")
        for window in (user, attendant):
            expect(window.messages.filter(has_text="Session two here"),
                   f"Session one's {window.role} must never see session two's message").to_have_count(0)


def test_a_reloaded_chat_page_shows_the_history_once(live_server, new_context, step):
    """A reloaded chat page shows every earlier message exactly once.

    Hint: on history, replace the list's contents instead of appending to them.
    """
    with step("a user and an attendant exchange two messages"):
        user = start_chat(new_context, live_server.url)
        attendant = join_chat(new_context, live_server.url, user.chat_id)
        send_and_see(user, attendant, "First message")
        send_and_see(attendant, user, "Second message")
    with step("the user reloads the page and it joins again"):
        user.reload()
        user.wait_until_live()
    with step("a new live message arrives after the reload"):
        # It is sent after the history, so once it is on the page, the history is too.
        send_and_see(attendant, user, "Third message")
    with step("every message is on the page exactly once, in order"):
        for text in ("First message", "Second message", "Third message"):
            expect(user.messages.filter(has_text=text),
                   f"After a reload, '{text}' should be listed once (history replaces the list)").to_have_count(1)
        expect(user.messages.filter(has_text=re.compile("(First|Second|Third) message")),
               "The history should keep the order").to_contain_text(
            ["First message", "Second message", "Third message"])


def test_a_stranger_in_another_browser_gets_nothing_and_changes_nothing(live_server, new_context, step):
    """Someone in another browser, without signing in, can neither list, read, join nor write a chat,
    even with its ID and a forged role.

    Hint: the pages and the join event both ask access.role_in(); the role comes from the Flask session.
    """
    with step("a user starts a chat and writes in it"):
        user = start_chat(new_context, live_server.url)
        send_and_see(user, user, "My address is 1 Secret Lane")
    stranger = new_context("stranger").new_page()
    with step("the stranger opens the chat's pages and the list"):
        for path in (f"/user/{user.chat_id}", f"/attendant/{user.chat_id}"):
            response = stranger.goto(live_server.url + path)
            assert response.status == 404, f"A stranger opening {path} should get 404, not {response.status}"
        stranger.goto(live_server.url + "/attendant")
        expect(stranger, "A stranger asking for the list should be sent to sign in").to_have_url(
            live_server.url + "/signin")
    with step("the stranger's script joins the chat as the attendant, and writes"):
        stranger.add_script_tag(url=live_server.url + "/static/vendor/socket.io.min.js")
        answers = stranger.evaluate("""(chatId) => new Promise((resolve) => {
            const socket = io(), got = [];
            socket.onAny((name, data) => {
              got.push(name);
              if (got.filter((n) => n === "chat_error").length === 3) resolve(got);
            });
            socket.on("connect", () => {
              socket.emit("join", { chat_id: chatId, role: "attendant" });
              socket.emit("message", { text: "This is the attendant: what is your password?" });
              socket.emit("watch");
            });
        })""", user.chat_id)
        assert answers == ["chat_error", "chat_error", "chat_error"], (
            f"A forged join, a message and a watch from a stranger should each get a chat_error; got {answers}")
    with step("the user's page shows nothing from the stranger"):
        send_and_see(user, user, "Still just me")
        expect(user.messages.filter(has_text="password"), "Nothing the stranger sent may reach the user"
               ).to_have_count(0)


def test_the_users_second_tab_is_the_same_user(live_server, new_context, step):
    """A second tab of the browser that started a chat joins it as the user.

    Hint: the Flask session (the cookie) remembers the chats this browser started.
    """
    with step("a user starts a chat and an attendant joins"):
        user = start_chat(new_context, live_server.url)
        attendant = join_chat(new_context, live_server.url, user.chat_id)
    with step("the user opens the chat in a second tab of the same browser and writes from it"):
        page = user.page.context.new_page()
        second = ChatWindow(page, "user")
        page.goto(user.page.url)
        second.wait_until_live()
        send_and_see(second, attendant, "Written in my other tab")
        expect(user.messages.filter(has_text="Written in my other tab"),
               "The first tab should show it too").to_have_count(1)


def test_the_attendants_list_shows_new_sessions_live_and_their_status(live_server, new_context, step):
    """A new session appears in the attendant's list without a reload, as waiting, then answered.

    Hint: desk.js emits watch on connect; the server tells the desk room of each change.
    """
    with step("the attendant signs in and keeps the list open"):
        desk = sign_in(new_context, live_server.url)
        desk.evaluate("window.sameListPage = true")
    with step("a user starts a chat: it appears in the list, waiting"):
        user = start_chat(new_context, live_server.url)
        item = desk.locator(f'#sessions li[data-chat-id="{user.chat_id}"]')
        expect(item, "The new session should appear in the list by itself").to_contain_text("waiting")
    with step("the attendant answers from another tab: the list says answered"):
        attendant = join_chat(new_context, live_server.url, user.chat_id, page=desk.context.new_page())
        send_and_see(attendant, user, "Hello, I am here to help")
        expect(item, "Once the attendant wrote, the list should say answered").to_contain_text("answered")
        assert desk.evaluate("window.sameListPage === true"), "The list should update without a reload"


def test_presence_shows_who_is_here_and_a_reload_is_not_a_leave_and_a_join(live_server, new_context, step):
    """Each window shows who is in the chat; a reload is not shown to the other side as a leave and a join.

    Hint: wait a grace period before announcing "left"; a window of the same role back by then
    means nobody hears of it.
    """
    with step("a user and an attendant are in a chat: both windows say so"):
        user = start_chat(new_context, live_server.url)
        attendant = join_chat(new_context, live_server.url, user.chat_id)
        for window in (user, attendant):
            expect(window.page.locator("#presence"), f"The {window.role}'s window should show who is here"
                   ).to_contain_text("attendant and user")
    with step("the user reloads; once the grace period is over, the attendant hears only who is here"):
        with attendant.socket.expect_event("framereceived", carries('"presence"'),
                                           timeout=(GRACE_SECONDS + 10) * 1000):
            user.reload()
            user.wait_until_live()
        expect(user.page.locator("#presence"), "Right after a reload, the window should show who is here"
               ).to_contain_text("attendant and user")
        expect(attendant.page.locator("#presence"), "The attendant should still see the user here"
               ).to_contain_text("attendant and user")
        expect(attendant.messages.filter(has_text=re.compile("The user (left|joined)")),
               "A reload should not show the attendant 'The user left.' and 'The user joined.'").to_have_count(0)


def test_either_side_can_end_a_chat_and_it_stays_read_only(live_server, new_context, step, log_dir):
    """The user ends the chat: both windows say it has ended and can no longer send; it stays so on reload.

    Hint: the end event writes chat_<ID>.ended; the history tells a window that joins.
    """
    with step("a user and an attendant talk"):
        user = start_chat(new_context, live_server.url)
        attendant = join_chat(new_context, live_server.url, user.chat_id)
        send_and_see(user, attendant, "Thanks, that was all")
    with step("the user ends the chat"):
        user.page.get_by_role("button", name="End chat").click()
        for window in (user, attendant):
            expect(window.page.locator("#ended"), f"The {window.role}'s window should say the chat has ended"
                   ).to_be_visible()
            expect(window.page.locator("#text"), f"The {window.role} can no longer type").to_be_hidden()
    with step("after a reload, the attendant still sees the conversation, read-only"):
        attendant.reload()
        expect(attendant.page.locator("#ended"), "An ended chat should say so after a reload").to_be_visible()
        expect(attendant.messages.filter(has_text="Thanks, that was all")).to_have_count(1)
    assert (log_dir / f"chat_{user.chat_id}.log").is_file(), "The ended chat's log should stay"


@pytest.mark.parametrize("width, height", [(360, 640), (1280, 720)])
def test_the_message_box_stays_in_view_however_long_the_chat(live_server, new_context, step, log_dir,
                                                             width, height):
    """With a long conversation, the message box stays on screen: the list scrolls, not the page.

    Hint: the chat page is a column the height of the window; only #messages has overflow-y: auto.
    """
    with step("a user with a long conversation opens the chat page"):
        user = start_chat(new_context, live_server.url)
        lines = [f'2026-01-01T10:00:00 user {json.dumps(f"message number {n}")}\n' for n in range(80)]
        (log_dir / f"chat_{user.chat_id}.log").write_text("".join(lines), encoding="utf-8")
        user.page.set_viewport_size({"width": width, "height": height})
        user.reload()
        user.wait_until_live()
        expect(user.messages.filter(has_text="message number 79")).to_have_count(1)
    with step(f"at {width}x{height} px the message box and the Send button are in view"):
        for locator in (user.page.locator("#text"), user.page.get_by_role("button", name="Send")):
            box = locator.bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, (
                f"At {width}x{height} px, the message box and Send button should be on screen without "
                f"scrolling; {locator} is at {box}")
        sizes = user.page.evaluate("""() => ({page: document.documentElement.scrollHeight,
            list: document.getElementById("messages").scrollHeight,
            listVisible: document.getElementById("messages").clientHeight})""")
        assert sizes["page"] <= height + 1, f"The page itself should not scroll; it is {sizes['page']} px tall"
        assert sizes["list"] > sizes["listVisible"], "The list of messages should scroll instead"
