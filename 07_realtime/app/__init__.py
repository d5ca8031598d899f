"""The chat app as a package. create_app() builds a new, configured app each time it is called."""
import os
import secrets

from dotenv import load_dotenv
from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.sansio.utils import host_is_trusted

# An extension is made once, without an app, and attached to each app create_app() builds.
csrf = CSRFProtect()

MAX_PACKET_BYTES = 64 * 1024


def create_app(test_config=None):
    """Build the app. The tests pass test_config, e.g. {"TESTING": True, "LOG_DIR": "/tmp/..."}."""
    app = Flask(__name__)
    # Lax: the browser sends the session cookie with no other site's form post, only with links to here.
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Socket.IO's defaults; FLASK_SOCKETIO_ASYNC_MODE and FLASK_SOCKETIO_MESSAGE_QUEUE override them.
    app.config.from_mapping(SOCKETIO_ASYNC_MODE="threading", SOCKETIO_MESSAGE_QUEUE=None)

    # Settings come from the environment, or from the .env file in the stage's folder (see
    # .env.example); the path is given, so a .env in some parent folder is never read.
    load_dotenv(os.path.join(os.path.dirname(app.root_path), ".env"))
    # Every FLASK_* variable becomes a setting: FLASK_LOG_DIR -> app.config["LOG_DIR"].
    # loads=str keeps each one the text it is: without it, FLASK_SECRET_KEY=123456 would become a number.
    app.config.from_prefixed_env(loads=str)
    # A request body (a form, an upload) over this many bytes gets 413 before the app reads it.
    max_bytes = app.config["MAX_CONTENT_LENGTH"] or "1000000"
    if not (max_bytes.isascii() and max_bytes.isdigit()):
        raise SystemExit(f"FLASK_MAX_CONTENT_LENGTH should be a number of bytes, not {max_bytes!r}")
    app.config["MAX_CONTENT_LENGTH"] = int(max_bytes)
    # Answer only requests for these host names (FLASK_TRUSTED_HOSTS=a,b to change): a page from
    # another site whose name was pointed at 127.0.0.1 (DNS rebinding) gets 400, not the chat.
    app.config["TRUSTED_HOSTS"] = (app.config["TRUSTED_HOSTS"] or "127.0.0.1,localhost").split(",")
    # What one client may cost (see events.py): the Socket.IO connections one address may keep
    # open (each tab is one), and the messages one connection may send a second.
    for name, default in (("MAX_CONNECTIONS_PER_CLIENT", "50"), ("MESSAGES_PER_SECOND", "5")):
        value = app.config.get(name) or default
        if not (value.isascii() and value.isdigit()):
            raise SystemExit(f"FLASK_{name} should be a whole number, not {value!r}")
        app.config[name] = int(value)
    if test_config:
        app.config.update(test_config)

    if not app.config.get("SECRET_KEY"):
        # The key signs the session cookie (flashed messages live there) and the CSRF tokens.
        app.config["SECRET_KEY"] = secrets.token_urlsafe()
        app.logger.warning(
            "FLASK_SECRET_KEY is not set, so a random key is used: copy .env.example to .env and set one."
        )
    # Where the chat logs go: by default instance/logs, next to the app package.
    app.config.setdefault("LOG_DIR", os.path.join(app.instance_path, "logs"))
    os.makedirs(app.config["LOG_DIR"], exist_ok=True)

    # Every POST must carry the token from the page it was sent from, or it gets 400 Bad Request.
    csrf.init_app(app)
    app.after_request(secure_headers)

    # Imported here, not at the top: the routes belong to the app being built.
    from . import routes
    from .events import socketio

    app.register_blueprint(routes.bp)

    # Socket.IO joins the app: the same server now also answers at /socket.io/.
    # - async_mode "threading" runs on Flask's own server (flask run), WebSocket
    #   included. It is named, so an installed gevent or eventlet never changes it.
    # - message_queue None: one server process. A URL like redis://127.0.0.1:6379
    #   lets several processes share their rooms.
    # - async_handlers False: one window's events are handled one after the other,
    #   so its messages keep the order it sent them in.
    # - cors_allowed_origins: only pages this app served may connect, from one of
    #   its TRUSTED_HOSTS. "*" would let any website open a chat in its visitor's name.
    socketio.init_app(
        app,
        cors_allowed_origins=own_pages_only(app.config["TRUSTED_HOSTS"]),
        async_mode=app.config["SOCKETIO_ASYNC_MODE"] or "threading",
        message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"] or None,
        async_handlers=False,
        # The biggest Socket.IO packet read from a client (Engine.IO's default is 1 MB). Any
        # message up to it gets a chat_error when too long; a bigger one closes the connection.
        max_http_buffer_size=MAX_PACKET_BYTES,
    )
    return app


def secure_headers(response):
    """Added to every answer; see create_app()."""
    # nosniff: the browser takes each answer as the Content-Type says, never guesses it is a script.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # DENY: no other site may show these pages in a frame and trick a visitor into clicking in them.
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def own_pages_only(trusted_hosts):
    """Socket.IO's origin check: the page's origin is this server, named by one of trusted_hosts."""

    def allowed(origin, environ):
        host = environ.get("HTTP_HOST", "")
        return origin == f"{environ['wsgi.url_scheme']}://{host}" and host_is_trusted(host, trusted_hosts)

    return allowed
