"""For a real deployment: what a public server needs beyond the lesson, each a setting of Flask,
Werkzeug or Flask-WTF. The app calls init_app(app) once, after reading its settings."""
from flask import render_template
from flask_wtf.csrf import CSRFError


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


def browser_protections(response):
    # nosniff: the browser takes each answer as its Content-Type says, never guesses it is a script.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # DENY: no other site may show these pages in a frame and trick a visitor into clicking in them.
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def form_not_sent(error):
    """A POST without a valid CSRF token gets a page of the site saying what happened."""
    return render_template("400.html", reason=error.description), 400
