"""The chat app as a package: create_app() builds and configures it."""
import os
import secrets

from dotenv import load_dotenv
from flask import Flask


def create_app(test_config=None):
    """Build the app. Tests pass test_config, e.g. {"TESTING": True, "LOG_DIR": ...}."""
    app = Flask(__name__)

    # Settings come from the environment: FLASK_SECRET_KEY becomes SECRET_KEY,
    # FLASK_LOG_DIR becomes LOG_DIR. load_dotenv() first copies a .env file, if
    # there is one, into the environment.
    load_dotenv()
    app.config.from_prefixed_env()
    if test_config:
        app.config.update(test_config)

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_urlsafe()
        app.logger.warning(
            "No FLASK_SECRET_KEY set: using a random key, so sessions and forms reset on restart. "
            "Set one in .env (see .env.example)."
        )
    app.config.setdefault("LOG_DIR", os.path.join(app.instance_path, "logs"))
    os.makedirs(app.config["LOG_DIR"], exist_ok=True)

    from . import routes

    app.register_blueprint(routes.bp)
    return app
