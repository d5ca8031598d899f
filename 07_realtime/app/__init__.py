"""The chat app as a package. create_app() builds a new, configured app each time it is called."""
import os
import secrets

from dotenv import load_dotenv
from flask import Flask
from flask_wtf.csrf import CSRFProtect

from . import hardening

# An extension is made once, without an app, and attached to each app create_app() builds.
csrf = CSRFProtect()


def create_app(test_config=None):
    """Build the app. The tests pass test_config, e.g. {"TESTING": True, "LOG_DIR": "/tmp/..."}."""
    app = Flask(__name__)

    # Settings come from the environment, or from the .env file in the stage's folder (see
    # .env.example); the path is given, so a .env in some parent folder is never read.
    load_dotenv(os.path.join(os.path.dirname(app.root_path), ".env"))
    # Every FLASK_* variable becomes a setting: FLASK_LOG_DIR -> app.config["LOG_DIR"].
    # loads=str keeps each one the text it is: without it, FLASK_SECRET_KEY=123456 would become a number.
    app.config.from_prefixed_env(loads=str)
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
    hardening.init_app(app)

    # Imported here, not at the top: the routes belong to the app being built.
    from . import access, routes
    from .events import socketio

    app.register_blueprint(routes.bp)
    app.cli.add_command(access.attendant_command)  # flask --app app attendant

    # Socket.IO joins the app: the same server now also answers at /socket.io/.
    # - "threading" runs on Flask's own server (flask run), WebSocket included.
    # - a message queue (FLASK_SOCKETIO_MESSAGE_QUEUE=redis://127.0.0.1:6379) lets
    #   several server processes share their rooms; without one, one process.
    # - async_handlers=False: one window's events are handled one after the other,
    #   so its messages keep the order it sent them in.
    socketio.init_app(app, async_mode=app.config.get("SOCKETIO_ASYNC_MODE", "threading"), async_handlers=False,
                      message_queue=app.config.get("SOCKETIO_MESSAGE_QUEUE"),
                      **hardening.socketio_settings(app, socketio))
    return app
