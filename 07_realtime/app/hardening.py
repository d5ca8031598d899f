"""For a real deployment: what a public server needs beyond the lesson, each a setting of Flask,
Werkzeug or Flask-WTF. The app calls init_app(app) once, after reading its settings."""
from flask import current_app, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from limits import parse
from werkzeug.sansio.utils import host_is_trusted

# Rate limits per client address, kept on the server (Flask-Limiter): routes.py uses @limiter.limit().
limiter = Limiter(get_remote_address)


def init_app(app):
    # A request body over FLASK_MAX_CONTENT_LENGTH bytes (1 MB) gets 413 before the app reads it.
    limit = app.config.get("MAX_CONTENT_LENGTH") or "1000000"
    if not str(limit).isdecimal():
        raise SystemExit(f"FLASK_MAX_CONTENT_LENGTH should be a number of bytes, not {limit!r}")
    app.config["MAX_CONTENT_LENGTH"] = int(limit)
    # Lax: the browser sends the session cookie with no other site's form post.
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.after_request(browser_protections)
    app.register_error_handler(CSRFError, form_not_sent)
    # Only these host names are answered (FLASK_TRUSTED_HOSTS=a,b): a site whose name was pointed
    # at 127.0.0.1 (DNS rebinding) gets 400, not the chat.
    app.config["TRUSTED_HOSTS"] = (app.config.get("TRUSTED_HOSTS") or "127.0.0.1,localhost").split(",")
    # The chat messages one address may send (the connections it keeps open: DEPLOY.md's proxy).
    app.config["MESSAGE_RATE"] = parse(app.config.get("MESSAGE_RATE") or "5 per second")
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter.init_app(app)
    app.register_error_handler(429, too_many)


def browser_protections(response):
    # nosniff: the browser takes each answer as its Content-Type says, never guesses it is a script.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # DENY: no other site may show these pages in a frame and trick a visitor into clicking in them.
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def form_not_sent(error):
    """A POST without a valid CSRF token gets a page of the site saying what happened."""
    return render_template("400.html", reason=error.description), 400


def too_many(error):  # over a rate limit: 429 Too Many Requests, in the site's layout
    return render_template("400.html", reason=f"Too many tries (at most {error.description}): wait a minute."), 429


def socketio_settings(app):
    """For socketio.init_app(): only this app's pages may connect (never "*"); no packet over 64 kB."""
    trusted_hosts = app.config["TRUSTED_HOSTS"]

    def own_pages_only(origin, environ):
        host = environ.get("HTTP_HOST", "")
        return origin == f"{environ['wsgi.url_scheme']}://{host}" and host_is_trusted(host, trusted_hosts)

    return {"cors_allowed_origins": own_pages_only, "max_http_buffer_size": 64 * 1024}


def message_allowed():
    """Count one chat message from this client's address; False when it is over FLASK_MESSAGE_RATE."""
    return limiter.limiter.hit(current_app.config["MESSAGE_RATE"], "chat-messages", request.remote_addr)
