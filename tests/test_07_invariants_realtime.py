"""Stage 7's invariants over its Socket.IO events, the ones events.py's docstring declares: text stays
text in every event and page, an id or a role a page sends decides nothing, and windows joining,
sending, reloading and leaving in any order each get every message of their chat once, in order."""
import ast
import re

import pytest
from hypothesis import seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

from support.payloads import each_generated, generated, seed_of_this_run, text_stays_text, with_generated
from support.remote import RemoteClient
from support.sockets import SocketWindow, signed_in, start_chat

STAGE = 7
# What the reference's events.py declares a page sends: read from the submission's own, this is the least.
DECLARED = {"join": ["chat_id", "role"], "message": ["text"], "watch": []}


@pytest.fixture
def replay_seed(request):
    return seed_of_this_run(request.config)


def declared_events(stage_folder):
    """{event a page sends: the keys of its payload}, as events.py's docstring declares them."""
    found = {name: list(keys) for name, keys in DECLARED.items()}
    try:
        doc = ast.get_docstring(ast.parse((stage_folder / "app" / "events.py").read_text("utf-8"))) or ""
    except (OSError, SyntaxError, ValueError):
        return found
    for line in doc.splitlines():
        declared = re.match(r"\s*[\w ]*page\s*->\s*server\s+(\w+)\s*(.*)", line)
        if declared:
            keys = re.findall(r'"(\w+)"\s*:', declared.group(2))
            found[declared.group(1)] = sorted(set(found.get(declared.group(1), [])) | set(keys))
    return found


def page_of(browser, path):
    response = browser.get(path)
    return response.status_code, response.text


def test_text_sent_in_a_message_comes_back_as_that_text_in_every_event_and_on_both_sides_pages(
        live_server, replay_seed):
    """The server sends the text as it came (a JSON string) and the pages show it with {{ message.text }}
    and textContent: never |safe, Markup(...) or innerHTML."""
    url = live_server.url
    user, attendant = RemoteClient(url), signed_in(RemoteClient(url))
    chat_id = start_chat(user)
    with SocketWindow(url, user) as mine, SocketWindow(url, attendant) as theirs:
        mine.join(chat_id, "user")
        theirs.join(chat_id, "attendant")

        def check(value):
            payload, _mark = value
            mine.send(payload)
            for name, window in (("user", mine), ("attendant", theirs)):
                got = window.expect("message", f"in the {name}'s window after the user sent {payload!r}")
                assert got.get("text") == payload, (
                    f"The event 'message' to the {name}'s window should carry the text exactly as sent, "
                    f"{payload!r}; it carried {got.get('text')!r}")

        sent = [value for value in with_generated(check, generated(), replay_seed) if value[0].strip()]
    for browser, role in ((user, "user"), (attendant, "attendant")):
        path = f"/{role}/{chat_id}"
        status, html = page_of(browser, path)
        for payload, mark in sent:
            text_stays_text([(path, status, html)], payload, mark, "a chat message")
    with SocketWindow(url, user) as again:
        history = again.join(chat_id, "user")
        assert [m["text"] for m in history["messages"]] == [payload for payload, _ in sent], (
            "The event 'history' should carry every message's text exactly as sent, in order")


# The values a forged payload may carry: another chat's ID, an ID that only looks like one, a role
# this browser does not have, a room's name.
def forged_payloads(events, mine, other):
    values = {"chat_id": st.sampled_from([other, mine, f"{other}-2", f"../chat_{other}", "desk"]),
              "role": st.sampled_from(["attendant", "user", "desk", other]),
              "text": st.sampled_from(["forged", "I am the attendant"])}
    return st.tuples(*[
        st.fixed_dictionaries({key: values.get(key, st.sampled_from([other, "attendant"]))
                               for key in sorted(set(keys) | {"chat_id", "role"})}).map(lambda p, e=event: (e, p))
        for event, keys in sorted(events.items())
    ])


def test_every_id_or_role_an_event_carries_swapped_for_another_chats_reaches_nothing_not_yours(
        live_server, stage_folder, log_dir, replay_seed):
    """Take the chat and the role from the server's own record (the session, what join() stored),
    never from an event's payload; check them in every handler."""
    url = live_server.url
    user, other = RemoteClient(url), RemoteClient(url)
    mine, theirs = start_chat(user), start_chat(other)
    events = declared_events(stage_folder)
    their_log = log_dir / f"chat_{theirs}.log"

    def check(forged):
        with SocketWindow(url, user) as window, SocketWindow(url, other) as watcher:
            watcher.join(theirs, "user")
            window.join(mine, "user")
            for event, payload in forged:
                window.emit(event, payload)
            window.emit("message", {"text": "after", "chat_id": theirs, "role": "attendant"})
            # Each emit returned once handled: its answers are in already (chat_errors among them).
            got = window.received() + window.barrier()
            wrong = [(name, data) for name, data in got
                     if name in ("sessions", "session")
                     or (isinstance(data, dict) and (data.get("role") not in (None, "user")
                                                     or data.get("chat_id") not in (None, mine)))]
            assert not wrong, (
                f"After {forged}, this browser (the user of {mine} only, never signed in) got {wrong}: an ID or a "
                "role in an event's payload chose a chat or a role that is not its own")
            heard = watcher.barrier()
            assert not [event for event in heard if event[0] == "message"], (
                f"After {forged} from another browser, a window of chat {theirs} got {heard}: a payload's ID "
                "reached a chat that is not the sender's")
        assert their_log.read_text("utf-8") == "", (
            f"After {forged}, the log of chat {theirs} holds {their_log.read_text('utf-8')!r}: a payload's ID "
            "reached a chat that is not the sender's")

    each_generated(check, forged_payloads(events, mine, theirs), replay_seed)


TEXTS = st.sampled_from(["hello", "<b>hi</b>", "é 你好 🙂", "a\nb", "  spaced  ", "x" * 500])


class Windows(RuleBasedStateMachine):
    """Windows of two chats (A: its user and the attendant; B: its user and the attendant; and B's user
    trying A) opening, joining, sending, reloading and closing in any order, against a model: each
    chat's log, and the messages each joined window is owed, in order."""

    # Set by the test: the server's URL, [(browser, chat ID, role, may join)], and each chat's log so far
    # (the server keeps it from one example to the next).
    url, slots, logs = "", [], {}

    def __init__(self):
        super().__init__()
        self.windows = [None] * len(self.slots)
        self.joined = [False] * len(self.slots)
        self.owed = [[] for _ in self.slots]

    def describe(self, number):
        _browser, chat_id, role, allowed = self.slots[number]
        return f"window {number} ({role} of {chat_id})" if allowed else f"window {number} (a stranger to {chat_id})"

    def teardown(self):
        for window in self.windows:
            if window is not None:
                window.disconnect()

    @initialize()
    def start_with_a_user_and_the_attendant_talking(self):
        # Every example, whatever its seed, starts from the simplest conversation: chat A's user and
        # attendant join, the user sends.
        for number in (0, 1):
            self.open(number)
            self.join(number)
        self.send(0, "hello")

    @rule(number=st.integers(0, 4))
    def open(self, number):
        if self.windows[number] is None:
            self.windows[number] = SocketWindow(self.url, self.slots[number][0]).connect()

    @precondition(lambda self: any(self.windows))
    @rule(number=st.integers(0, 4))
    def join(self, number):
        window = self.windows[number]
        if window is None:
            return
        _browser, chat_id, role, allowed = self.slots[number]
        window.emit("join", {"chat_id": chat_id, "role": role})
        got = window.wait_for("history", "chat_error", when=f"after {self.describe(number)} joined")
        if not allowed:
            assert got[-1][0] == "chat_error", f"{self.describe(number)} should be refused; it got {got}"
            return
        assert got[-1][0] == "history", f"{self.describe(number)} should get the history; it got {got}"
        # Owed before the join, they came before the history: counted there, as the invariant does.
        self.check_owed(number, got[:-1])
        history = [(m["role"], m["text"]) for m in got[-1][1]["messages"]]
        assert history == self.logs[chat_id], (
            f"{self.describe(number)} joined and got a history of {history}; the chat holds {self.logs[chat_id]}: "
            "every message once, in order")
        self.joined[number] = True

    @rule(number=st.integers(0, 4), text=TEXTS)
    def send(self, number, text):
        window = self.windows[number]
        if window is None:
            return
        _browser, chat_id, role, _allowed = self.slots[number]
        window.send(text)
        if not self.joined[number]:
            got = window.wait_for("message", "chat_error", when=f"after {self.describe(number)} sent without joining")
            assert got[-1][0] == "chat_error", (
                f"{self.describe(number)}, not joined, sent {text!r}: it should be refused; it got {got}")
            return
        self.logs[chat_id].append((role, text))
        for other, (_b, other_chat, _r, _a) in enumerate(self.slots):
            if self.joined[other] and other_chat == chat_id:
                self.owed[other].append((role, text))

    @rule(number=st.integers(0, 4))
    def reload(self, number):
        self.close(number)
        self.open(number)
        self.join(number)

    @rule(number=st.integers(0, 4))
    def close(self, number):
        if self.windows[number] is not None:
            self.windows[number].disconnect()
        self.windows[number], self.joined[number], self.owed[number] = None, False, []

    def check_owed(self, number, events):
        got = [(data["role"], data["text"]) for name, data in events if name == "message"]
        assert got == self.owed[number], (
            f"{self.describe(number)} should have got {self.owed[number]} (each message of its chat since it "
            f"joined, once, in order, and nothing of another chat); it got {got}")
        self.owed[number] = []

    @invariant()
    def each_window_got_its_chats_messages_once_in_order(self):
        for number, window in enumerate(self.windows):
            if window is not None:
                self.check_owed(number, window.barrier())


def test_windows_joining_sending_reloading_and_leaving_in_any_order_get_each_message_of_their_chat_once_in_order(
        live_server, replay_seed):
    """Join the room and read the log under one lock, and log and send each message under the same
    lock: a window then gets each message once, in its history or live after it, and only its own chat's."""
    url = live_server.url
    attendant = signed_in(RemoteClient(url))
    first, second = RemoteClient(url), RemoteClient(url)
    a, b = start_chat(first), start_chat(second)
    Windows.slots = [(first, a, "user", True), (attendant, a, "attendant", True), (second, b, "user", True),
                     (attendant, b, "attendant", True), (second, a, "user", False)]
    Windows.url, Windows.logs = url, {a: [], b: []}
    try:
        run_state_machine_as_test(seed(replay_seed)(Windows),
                                  settings=settings(settings(), stateful_step_count=12))
    except AssertionError as error:
        raise AssertionError(f"{error}\n(Generated: replay with --hypothesis-seed={replay_seed})") from None


def test_a_message_of_500_emoji_is_sent_whole_and_one_more_is_refused(live_server):
    """Count the limit in characters, len(text) > 500, as the page's box does: never in bytes."""
    url = live_server.url
    user = RemoteClient(url)
    chat_id = start_chat(user)
    at_the_limit = "🙂" * 500  # 500 characters, 2,000 bytes of UTF-8
    with SocketWindow(url, user) as window:
        window.join(chat_id, "user")
        window.send(at_the_limit)
        got = window.wait_for("message", "chat_error", when="after sending 500 emoji")
        assert got[-1][0] == "message" and got[-1][1].get("text") == at_the_limit, (
            f"A message of 500 emoji is 500 characters, within the limit: it should come back whole; got {got[-1]}")
        window.send(at_the_limit + "🙂")
        got = window.wait_for("message", "chat_error", when="after sending 501 emoji")
        assert got[-1][0] == "chat_error", f"A message of 501 characters is over the limit; it got {got[-1]}"
    with SocketWindow(url, user) as again:
        history = [m["text"] for m in again.join(chat_id, "user")["messages"]]
    assert history == [at_the_limit], f"The log should hold the 500 emoji once, and no more; its history: {history!r:.80}"
