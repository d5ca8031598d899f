"""The chat app as a package. create_app() builds a new, configured app each time it is called."""
import os
import secrets

from dotenv import load_dotenv
from flask import Flask
from flask_wtf.csrf import CSRFProtect

# An extension is made once, without an app, and attached to each app create_app() builds.
csrf = CSRFProtect()


def create_app(test_config=None):
    """Build the app. The tests pass test_config, e.g. {"TESTING": True, "LOG_DIR": "/tmp/..."}."""
    app = Flask(__name__)
    # Lax: the browser sends the session cookie with no other site's form post, only with links to here.
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"

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

    app.register_blueprint(routes.bp)
    return app


def secure_headers(response):
    """Added to every answer; see create_app()."""
    # nosniff: the browser takes each answer as the Content-Type says, never guesses it is a script.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # DENY: no other site may show these pages in a frame and trick a visitor into clicking in them.
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response
