"""For a real deployment: bounds on what one client may cost, and settings that close
doors a lesson does not need to open. create_app() calls init_app(app) once.
"""
import threading

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_socketio import ConnectionRefusedError
from limits import parse
from werkzeug.sansio.utils import host_is_trusted

# Rate limits per client address, kept on the server (Flask-Limiter): routes.py uses
# @limiter.limit(...). FLASK_RATELIMIT_STORAGE_URI=redis://... shares them between processes.
limiter = Limiter(get_remote_address)


def init_app(app):
    # A request body (a form, an upload) over this many bytes gets 413 before the app reads it.
    app.config["MAX_CONTENT_LENGTH"] = whole_number(app, "MAX_CONTENT_LENGTH", 1_000_000)
    # What one client address may cost: chat messages a second, Socket.IO connections (a tab each).
    app.config["MESSAGES_PER_SECOND"] = whole_number(app, "MESSAGES_PER_SECOND", 5)
    app.config["CONNECTIONS_PER_CLIENT"] = whole_number(app, "CONNECTIONS_PER_CLIENT", 50)
    # Lax: the browser sends the session cookie with no other site's form post, only with links to here.
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Answer only requests for these host names (FLASK_TRUSTED_HOSTS=a,b to change): a page from
    # another site whose name was pointed at 127.0.0.1 (DNS rebinding) gets 400, not the chat.
    app.config["TRUSTED_HOSTS"] = (app.config.get("TRUSTED_HOSTS") or "127.0.0.1,localhost").split(",")
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter.init_app(app)
    app.after_request(secure_headers)


def whole_number(app, name, default):
    value = str(app.config.get(name) or default)
    if not (value.isascii() and value.isdigit()):
        raise SystemExit(f"FLASK_{name} should be a whole number, not {value!r}")
    return int(value)


def secure_headers(response):
    # nosniff: the browser takes each answer as the Content-Type says, never guesses it is a script.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # DENY: no other site may show these pages in a frame and trick a visitor into clicking in them.
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def socketio_settings(app, socketio):
    """For socketio.init_app(): only this app's own pages may connect (never "*"), no packet
    over 64 kB is read (Engine.IO's default is 1 MB), and one address keeps a bounded number
    of connections open."""
    trusted_hosts, most = app.config["TRUSTED_HOSTS"], app.config["CONNECTIONS_PER_CLIENT"]
    open_connections, counting = {}, threading.Lock()  # per address

    def own_pages_only(origin, environ):
        host = environ.get("HTTP_HOST", "")
        return origin == f"{environ['wsgi.url_scheme']}://{host}" and host_is_trusted(host, trusted_hosts)

    @socketio.on("connect")
    def count_connection(auth=None):
        with counting:
            if open_connections.get(request.remote_addr, 0) >= most:
                raise ConnectionRefusedError("Too many chat windows are open from your address: close some first.")
            open_connections[request.remote_addr] = open_connections.get(request.remote_addr, 0) + 1

    @socketio.on("disconnect")
    def uncount_connection(reason=None):
        with counting:
            open_connections[request.remote_addr] -= 1

    return {"cors_allowed_origins": own_pages_only, "max_http_buffer_size": 64 * 1024}


def message_allowed():
    """Count one chat message from this client's address; False when it is over the rate."""
    rate = parse(f"{current_app.config['MESSAGES_PER_SECOND']}/second")
    return limiter.limiter.hit(rate, "chat-messages", request.remote_addr)
