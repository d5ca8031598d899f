"""Stage 7 behind nginx, configured exactly as DEPLOY.md shows: the chat works through the proxy,
WebSocket included, and the proxy bounds the connections one address keeps open."""
import pytest
import socketio

from support.nginx_proxy import NginxProxy
from support.servers import ServerFailed
from support.remote import RemoteClient
from support.sockets import SocketWindow, start_chat

STAGE = 7
BOUND = 3  # DEPLOY.md says 50; three windows make the same point quickly


@pytest.fixture
def proxy(live_server, stage_folder):
    try:
        started = NginxProxy(stage_folder / "DEPLOY.md", live_server.url, connections=BOUND).start()
    except ServerFailed as problem:  # nginx missing, or it would not start
        pytest.fail(str(problem), pytrace=False)
    yield started
    started.stop()


def test_behind_deploy_mds_nginx_the_chat_works_and_one_address_keeps_a_bounded_number_of_connections(proxy):
    """Look at DEPLOY.md's nginx block: the WebSocket upgrade headers for /socket.io/, and limit_conn for one
    address."""
    browser = RemoteClient(proxy.url)
    chat_id = start_chat(browser)
    windows = [SocketWindow(proxy.url, browser) for _ in range(BOUND)]
    try:
        for window in windows:
            window.connect()
        history = windows[0].join(chat_id, "user")
        assert history["messages"] == [], "A new chat's history, through the proxy, should be empty"
        windows[0].send("through the proxy")
        assert windows[0].expect("message", "through nginx")["text"] == "through the proxy", (
            "A message sent through DEPLOY.md's nginx should come back over the WebSocket")

        extra = SocketWindow(proxy.url, browser)
        with pytest.raises(socketio.exceptions.ConnectionError):
            extra.connect()
            extra.disconnect()
            pytest.fail(f"With `limit_conn per_address {BOUND}`, a window beyond {BOUND} from one address "
                        "should be refused by nginx (503), but it connected: DEPLOY.md's configuration "
                        "should bound the connections one address keeps open")

        windows.pop().disconnect()
        again = SocketWindow(proxy.url, browser).connect()  # the bound is on open connections, not on a count
        windows.append(again)
    finally:
        for window in windows:
            window.disconnect()
