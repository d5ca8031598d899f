"""Stage 7 in a real browser: who may see a chat session, who is in it, the attendant's list, its end.

The windows and what they do (start a chat, sign in, join, send) are in chat_windows.py.
"""
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from chat_windows import ChatWindow, carries, join_chat, send_and_see, sign_in, start_chat
from support.sockets import ATTENDANT_ENV

STAGE = 7
pytestmark = pytest.mark.browser
GRACE_SECONDS = 2  # before "left": a reload here is back well within it


@pytest.fixture
def stage_env(stage_env):
    """The shared test environment, plus an attendant (name and password hash, as in .env)."""
    return {**stage_env, **ATTENDANT_ENV, "FLASK_LEAVE_GRACE_SECONDS": str(GRACE_SECONDS)}


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
        reloaded = False
        try:
            with attendant.socket.expect_event("framereceived", carries('"presence"'),
                                               timeout=(GRACE_SECONDS + 10) * 1000):
                user.reload()
                user.wait_until_live()
                reloaded = True
        except PlaywrightTimeoutError:
            if not reloaded:
                raise
            # No presence after the grace period: on a busy server the new page's join came before
            # the old page's goodbye, so to the server the user never left and no grace period began.
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
