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
import os
import shutil
import time

import pytest
import redis
from pytest_redis import factories

from stages import parse_log_line
from support.remote import RemoteClient
from support.sockets import SocketWindow, converse, hears_nothing_else, signed_in, start_chat

STAGE = 7


def logged(log_dir, chat_id):
    """(role, text) of every line in the session's log, in order."""
    lines = (log_dir / f"chat_{chat_id}.log").read_text(encoding="utf-8").splitlines()
    return [parse_log_line(line)[1:] for line in lines]


# Where Debian and Homebrew put it, when it is not on the PATH.
REDIS_SERVER = shutil.which("redis-server", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/opt/homebrew/bin"]))
# A real redis-server on 127.0.0.1 and a free port, for this module's checks (pytest-redis starts and stops it).
redis_proc = factories.redis_proc(executable=REDIS_SERVER)


@pytest.fixture
def redis_server(request):
    """The redis-server, which no server of an earlier check listens to any more."""
    if not REDIS_SERVER:
        pytest.fail("redis-server is not installed, and the stage 7 scale-out test needs a real one. `make test` installs "
                    "it when it runs as root with apt-get; otherwise install it yourself: `sudo apt-get install "
                    "redis-server` or `brew install redis`.", pytrace=False)
    server = request.getfixturevalue("redis_proc")
    with redis.Redis(host=server.host, port=server.port) as client:
        client.client_kill_filter(_type="pubsub")  # an earlier check's servers, if Redis has not seen them go yet
    return server


def subscribers(server):
    """How many clients are subscribed to a channel or a pattern right now."""
    with redis.Redis(host=server.host, port=server.port) as client:
        return sum(1 for one in client.client_list() if int(one.get("sub", 0)) + int(one.get("psub", 0)) > 0)


def listening(urls, redis_server):
    """The URLs, once every server listens to the queue.

    A Socket.IO server subscribes to Redis in a background thread started by its
    first connection, so what another server publishes before that is lost: open
    an Engine.IO connection to each and wait until Redis counts them all.
    """
    for number, url in enumerate(urls, 1):
        status = RemoteClient(url).get("/socket.io/?EIO=4&transport=polling").status_code
        if status != 200:
            pytest.fail(f"Server {number} did not open a Socket.IO connection at /socket.io/ ({status})", pytrace=False)
    deadline = time.monotonic() + 10
    while subscribers(redis_server) < len(urls):
        if time.monotonic() > deadline:
            raise AssertionError(f"Only {subscribers(redis_server)} of the {len(urls)} servers subscribed to the "
                                 "Redis message queue within 10 s of their first connection: "
                                 "SocketIO(app, message_queue=...) should get FLASK_SOCKETIO_MESSAGE_QUEUE")
        time.sleep(0.02)  # Redis tells no one of a new subscriber: ask again
    return urls


@pytest.fixture
def two_servers(start_app, stage_env, redis_server):
    """The URLs of two stage 7 servers, one Redis message queue, one log folder."""
    env = {**stage_env, "FLASK_SOCKETIO_MESSAGE_QUEUE": f"redis://{redis_server.host}:{redis_server.port}"}
    started = [start_app(env=env) for _ in range(2)]
    problems = [one.error for one in started if one.error]
    if problems:
        pytest.fail("The stage 7 app could not start:\n  " + problems[0], pytrace=False)
    return [one.url for one in started]


def test_user_and_attendant_on_two_servers_talk_through_redis_and_each_message_is_logged_once(
        two_servers, redis_server, log_dir):
    """Look at how create_app sets up Socket.IO: FLASK_SOCKETIO_MESSAGE_QUEUE gives it the message queue the
    servers share."""
    one, two = listening(two_servers, redis_server)
    browser, other_browser, desk = RemoteClient(one), RemoteClient(two), signed_in(RemoteClient(two))
    chat_id, other_id = start_chat(browser), start_chat(other_browser)
    with SocketWindow(one, browser) as user, SocketWindow(two, desk) as attendant, \
            SocketWindow(two, other_browser) as outsider:
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
    """Look at how create_app sets up Socket.IO: FLASK_SOCKETIO_MESSAGE_QUEUE gives it the message queue the
    servers share, and the start view tells the desk room."""
    one, two = listening(two_servers, redis_server)
    with SocketWindow(two, signed_in(RemoteClient(two))) as attendant_list:
        attendant_list.emit("watch")
        assert attendant_list.expect("sessions", "after watch on server 2")["sessions"] == [], (
            "No session has started yet")
        chat_id = start_chat(RemoteClient(one))
        assert attendant_list.expect("session", "on server 2 for a session started on server 1") == {
            "chat_id": chat_id}, (
            "An attendant's list on one server should hear of a session started on the other (through Redis)")
