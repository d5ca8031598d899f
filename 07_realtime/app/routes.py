"""The pages, as a Blueprint: a group of routes that create_app() registers on the app.

The conversation itself now travels over Socket.IO (events.py). These pages
start a chat session, sign the attendant in and out, list the sessions, and
serve the chat page, whose script (static/chat.js) connects to its session.
"""
import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError

from . import access, chat_log, chat_sessions
from .events import MAX_LENGTH, tell_desk
from .forms import SignInForm

bp = Blueprint("main", __name__)


def log_dir():
    return current_app.config["LOG_DIR"]


@bp.route("/")
def index():
    return render_template("index.html")


# "Start a chat" posts here (CSRFProtect has already checked its token).
@bp.route("/user", methods=["GET", "POST"])
def user():
    if request.method == "POST":
        if starting_too_often():
            flash(f"You started {SESSIONS_PER_MINUTE} chats in the last minute: wait a little before the next.")
            return render_template("user.html"), 429  # Too Many Requests
        try:
            chat_id = chat_sessions.start(log_dir())
        except OSError:  # the log folder is gone or read-only
            current_app.logger.exception("Could not start a chat session in %s", log_dir())
            flash("The chat could not be started (the server cannot write its log). Please try again later.")
            return render_template("user.html"), 503
        access.remember_started(chat_id)  # this browser, and only this one, is its user
        tell_desk(chat_id, "waiting")
        # Redirect after the POST, so reloading the chat page does not start another chat.
        return redirect(url_for("main.chat", role="user", chat_id=chat_id))
    return render_template("user.html")


@bp.route("/signin", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    if not access.attendant_configured():
        return render_template("sign_in.html", form=None)
    if form.validate_on_submit():
        if access.check_attendant(form.name.data, form.password.data):
            session["attendant"] = True
            return redirect(url_for("main.attendant"))
        form.password.errors.append("That name and password do not match.")
    return render_template("sign_in.html", form=form)


@bp.route("/signout", methods=["POST"])
def sign_out():
    session.pop("attendant", None)
    flash("You are signed out.")
    return redirect(url_for("main.index"))


SESSIONS_PER_MINUTE = 10  # chats one browser may start


def starting_too_often():
    """True when this browser started SESSIONS_PER_MINUTE chats in the last minute (the times are
    kept in its session cookie); otherwise count this one."""
    now = time.time()
    started = [t for t in session.get("chats_started", []) if isinstance(t, (int, float)) and now - t < 60]
    if len(started) >= SESSIONS_PER_MINUTE:
        return True
    session["chats_started"] = started + [now]
    return False


@bp.route("/attendant")
def attendant():
    if not access.is_attendant():
        return redirect(url_for("main.sign_in"))
    sessions = [(chat_id, chat_sessions.status(log_dir(), chat_id)) for chat_id in chat_sessions.all_ids(log_dir())]
    return render_template("attendant.html", sessions=sessions)


# The any converter matches only the words listed: /manager/... is a 404.
# One view and one template serve both clients; role says which one is asking.
@bp.route("/<any(user, attendant):role>/<chat_id>")
def chat(role, chat_id):
    if access.role_in(chat_id) != role:
        abort(404)  # never started, or not yours: a stranger cannot tell which
    messages, _before = chat_log.recent(chat_sessions.log_path(log_dir(), chat_id))  # the last 100
    return render_template(
        "chat.html", role=role, chat_id=chat_id, messages=messages, max_length=MAX_LENGTH,
        ended=chat_sessions.has_ended(log_dir(), chat_id),
    )


# Error pages in the site's layout, for every URL of the app (not only this Blueprint's).
@bp.app_errorhandler(404)
def page_not_found(error):
    return render_template("404.html"), 404


# A POST without a valid CSRF token (a form left open while the secret key changed, say).
@bp.app_errorhandler(CSRFError)
def form_not_sent(error):
    return render_template("400.html", reason=error.description), 400
