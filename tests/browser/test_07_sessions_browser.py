"""Stage 7 in a real browser: who may see a chat session, one browser in both roles, the attendant's list.

The windows and what they do (start a chat, sign in, join, send) are in chat_windows.py.
"""
import pytest
from playwright.sync_api import expect

from chat_windows import ChatWindow, join_chat, send_and_see, sign_in, start_chat

STAGE = 7
pytestmark = pytest.mark.browser


def test_a_stranger_in_another_browser_gets_nothing_and_changes_nothing(live_server, new_context, step):
    """The pages and the join event both ask access.roles_in(); the roles come from the Flask session."""
    # Someone in another browser, without signing in, can neither list, read, join nor write a chat, even with
    # its ID and a forged role.
    with step("a user starts a chat and writes in it"):
        user = start_chat(new_context, live_server.url)
        send_and_see(user, user, "My address is 1 Secret Lane")
    stranger = new_context().new_page()
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
    """The Flask session (the cookie) remembers the chats this browser started."""
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


def test_one_browser_may_be_the_user_in_one_tab_and_the_attendant_in_another(live_server, new_context, step):
    """chat.js sends the page's role (data-role) with join; the server grants it when the browser has it."""
    # A browser that started a chat and signed in opens the chat from the list as the attendant, in another tab:
    # what it sends there shows as the attendant's, in both tabs.
    with step("a user starts a chat, then signs in as the attendant in the same browser"):
        user = start_chat(new_context, live_server.url)
        desk = sign_in(new_context, live_server.url, page=user.page.context.new_page())
    with step("the attendant's tab opens the chat from the list and writes"):
        attendant = join_chat(new_context, live_server.url, user.chat_id, page=desk)
        send_and_see(attendant, user, "Written as the attendant")
        for window in (attendant, user):
            expect(window.messages.filter(has_text="Written as the attendant"),
                   f"In the {window.role}'s tab, the attendant tab's message should show as the attendant's"
                   ).to_contain_text("attendant: Written as the attendant")
    with step("the user's tab writes as the user"):
        send_and_see(user, attendant, "Written as the user")
        expect(attendant.messages.filter(has_text="Written as the user"),
               "The user tab's message should show as the user's").to_contain_text("user: Written as the user")


def test_the_attendants_list_shows_new_sessions_live(live_server, new_context, step):
    """desk.js emits watch on connect and lists the sessions it gets; the server tells the desk room of each new
    session."""
    # The attendant's list shows the sessions there are; a new one appears at its top without a reload, and its
    # link opens it.
    with step("a user starts a chat before the attendant opens the list: it is listed"):
        earlier = start_chat(new_context, live_server.url)
        desk = sign_in(new_context, live_server.url)
        expect(desk.locator("#sessions li"), "The list should show the session there is").to_have_text(
            [earlier.chat_id])
        desk.evaluate("window.sameListPage = true")
    with step("a user starts a chat: it appears at the top of the list by itself"):
        user = start_chat(new_context, live_server.url)
        expect(desk.locator("#sessions li"), "The new session should appear at the top of the list by itself"
               ).to_have_text([user.chat_id, earlier.chat_id])
    with step("the attendant follows its link from the same page, and they chat"):
        assert desk.evaluate("window.sameListPage === true"), "The list should update without a reload"
        attendant = join_chat(new_context, live_server.url, user.chat_id, page=desk)
        send_and_see(attendant, user, "Hello, I am here to help")
