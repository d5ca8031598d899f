"""The pages, as a Blueprint: a group of routes that create_app() registers on the app.

The conversation itself now travels over Socket.IO (events.py). These pages
start a chat session, list the sessions, and serve the chat page, whose
script (static/chat.js) connects to its session.
"""
import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for

from . import chat_log, chat_sessions
from .events import MAX_LENGTH

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
        # Redirect after the POST, so reloading the chat page does not start another chat.
        return redirect(url_for("main.chat", role="user", chat_id=chat_id))
    return render_template("user.html")


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
    return render_template("attendant.html", chat_ids=chat_sessions.all_ids(log_dir()))


# The any converter matches only the words listed: /manager/... is a 404.
# One view and one template serve both clients; role says which one is asking.
@bp.route("/<any(user, attendant):role>/<chat_id>")
def chat(role, chat_id):
    if not chat_sessions.exists(log_dir(), chat_id):
        abort(404)  # a malformed ID, or a session that was never started
    messages, _before = chat_log.recent(chat_sessions.log_path(log_dir(), chat_id))  # the last 100
    return render_template(
        "chat.html", role=role, chat_id=chat_id, messages=messages, max_length=MAX_LENGTH
    )
