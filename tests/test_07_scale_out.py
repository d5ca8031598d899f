"""Stage 7, scaled out: two server processes share their rooms through Redis.

One setting, FLASK_SOCKETIO_MESSAGE_QUEUE=redis://..., makes every server
process publish what it emits to Redis and deliver what the others publish.
This test starts a real redis-server and two stage 7 servers on two ports that
share one log folder: a user on one server and the attendant on the other must
talk both ways, a third session must hear nothing, and each message must be in
the session's log exactly once (only the server that received it writes it).
The attendant's list crosses too: a list page on one server hears of a session
started on the other.
"""
from urllib.error import URLError
from urllib.request import urlopen

import pytest

from stages import parse_log_line
from support.redis_server import RedisServer
from support.servers import ServerFailed
from support.sockets import STAGE_7_ENV, Browser, converse, hears_nothing_else, start_chat

STAGE = 7


def logged(log_dir, chat_id):
    """(role, text) of every line in the session's log, in order."""
    lines = (log_dir / f"chat_{chat_id}.log").read_text(encoding="utf-8").splitlines()
    return [parse_log_line(line)[1:] for line in lines]


@pytest.fixture
def stage_env(stage_env):
    """The shared test environment, plus an attendant (name and password hash, as in .env)."""
    return {**stage_env, **STAGE_7_ENV}


@pytest.fixture
def redis_server():
    try:
        server = RedisServer().start()
    except ServerFailed as problem:  # redis-server missing, or it would not start
        pytest.fail(str(problem), pytrace=False)
    yield server
    server.stop()


def listening(urls, redis_server):
    """The URLs, once every server listens to the queue.

    A Socket.IO server subscribes to Redis in a background thread started by its
    first connection, so what another server publishes before that is lost: open
    an Engine.IO connection to each and wait until Redis counts them all.
    """
    for number, url in enumerate(urls, 1):
        try:
            urlopen(f"{url}/socket.io/?EIO=4&transport=polling", timeout=10).close()
        except (URLError, OSError) as error:
            pytest.fail(f"Server {number} did not open a Socket.IO connection at /socket.io/: {error}", pytrace=False)
    assert redis_server.wait_for_subscribers(len(urls)), (
        f"Only {redis_server.subscribers()} of the {len(urls)} servers subscribed to the Redis message queue "
        "within 10 s of their first connection: SocketIO(app, message_queue=...) should get FLASK_SOCKETIO_MESSAGE_QUEUE")
    return urls


@pytest.fixture
def two_servers(start_app, stage_env, redis_server):
    """The URLs of two stage 7 servers, one Redis message queue, one log folder."""
    env = {**stage_env, "FLASK_SOCKETIO_MESSAGE_QUEUE": redis_server.url}
    started = [start_app(env=env) for _ in range(2)]
    problems = [one.error for one in started if one.error]
    if problems:
        pytest.fail("The stage 7 app could not start:\n  " + problems[0], pytrace=False)
    return [one.url for one in started]


def test_user_and_attendant_on_two_servers_talk_through_redis_and_each_message_is_logged_once(
        two_servers, redis_server, log_dir):
    one, two = listening(two_servers, redis_server)
    chat_id, browser = start_chat(one)
    other_id, other_browser = start_chat(two)
    desk = Browser(two).sign_in()
    with browser.window() as user, desk.window() as attendant, \
            other_browser.window() as outsider:
        user.join(chat_id, "user")
        attendant.join(chat_id, "attendant")
        outsider.join(other_id, "user")

        conversation = [(user, "user", "Hello from server one"),
                        (attendant, "attendant", "Hello back from server two")]
        converse(conversation, [("user (server 1)", user), ("attendant (server 2)", attendant)],
                 "With FLASK_SOCKETIO_MESSAGE_QUEUE set, every server delivers what the others emit.")
        # Its own echo comes after anything Redis passed on before it.
        hears_nothing_else(outsider, "a different session",
                           "A window in another session must receive nothing from this one, whichever server it is on")
        for name, win in [("user", user), ("attendant", attendant)]:
            twice = [payload for event, payload in win.barrier() if event == "message"]
            assert twice == [], f"The {name} window got a message twice: {twice}"

    expected = [(role, text) for _sender, role, text in conversation]
    assert logged(log_dir, chat_id) == expected, (
        "The shared session log should hold each message exactly once, written by the server "
        f"that received it; it holds {logged(log_dir, chat_id)}")
    assert logged(log_dir, other_id) == [("user", "a different session")], (
        "The other session's log should hold only its own message")


def test_the_attendants_list_on_one_server_hears_of_a_chat_started_on_the_other(two_servers, redis_server):
    one, two = listening(two_servers, redis_server)
    desk = Browser(two).sign_in()
    with desk.window() as attendant_list:
        attendant_list.emit("watch")
        assert attendant_list.expect("sessions", "after watch on server 2")["sessions"] == [], (
            "No session has started yet")
        chat_id, _browser = start_chat(one)
        assert attendant_list.expect("session", "on server 2 for a session started on server 1") == {
            "chat_id": chat_id}, (
            "An attendant's list on one server should hear of a session started on the other (through Redis)")
