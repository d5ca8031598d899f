"""The chat app as a package. create_app() builds a new, configured app each time it is called."""
import os
import secrets
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask
from flask_wtf.csrf import CSRFProtect

from . import hardening

# An extension is made once, without an app, and attached to each app create_app() builds.
csrf = CSRFProtect()


def create_app(test_config=None):
    """Build the app. A test may pass test_config, e.g. {"LOG_DIR": "/tmp/..."}: it wins over the environment."""
    app = Flask(__name__)
    # The .env next to the app/ package, and only that one.
    load_dotenv(Path(__file__).parent.with_name(".env"))
    app.config.from_prefixed_env(loads=str)  # every FLASK_* variable, as text: FLASK_LOG_DIR -> LOG_DIR
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_urlsafe()  # fine on your machine, but new at every start
        app.logger.warning("FLASK_SECRET_KEY is not set, so a random key is used: set one in .env (see README.md).")
    # Where the chat logs go: by default instance/logs, next to the app package.
    app.config.setdefault("LOG_DIR", os.path.join(app.instance_path, "logs"))
    os.makedirs(app.config["LOG_DIR"], exist_ok=True)
    csrf.init_app(app)
    hardening.init_app(app)  # for a real deployment: see hardening.py

    # Imported here, not at the top: the routes belong to the app being built.
    from . import routes

    app.register_blueprint(routes.bp)
    return app
