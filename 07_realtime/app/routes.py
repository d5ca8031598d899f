"""The pages, as a Blueprint: a group of routes that create_app() registers on the app.

The conversation itself now travels over Socket.IO (events.py). These pages
start a chat session, list the sessions, and serve the chat page, whose
script (static/chat.js) connects to its session.
"""
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

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
        chat_id = chat_sessions.start(log_dir())
        # Redirect after the POST, so reloading the chat page does not start another chat.
        return redirect(url_for("main.chat", role="user", chat_id=chat_id))
    return render_template("user.html")


@bp.route("/attendant")
def attendant():
    return render_template("attendant.html", chat_ids=chat_sessions.all_ids(log_dir()))


# The any converter matches only the words listed: /manager/... is a 404.
# One view and one template serve both clients; role says which one is asking.
@bp.route("/<any(user, attendant):role>/<chat_id>")
def chat(role, chat_id):
    if not chat_sessions.exists(log_dir(), chat_id):
        abort(404)  # a malformed ID, or a session that was never started
    messages = chat_log.read(chat_sessions.log_path(log_dir(), chat_id))
    return render_template(
        "chat.html", role=role, chat_id=chat_id, messages=messages, max_length=MAX_LENGTH
    )
