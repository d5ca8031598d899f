"""The pages, as a Blueprint: a group of routes that create_app() registers on the app."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from . import access, chat_log, chat_sessions
from .events import DESK, socketio, tell_desk
from .forms import MessageForm, SignInForm
from .hardening import limiter

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    return render_template("index.html")


# "Start a chat" posts here (CSRFProtect has already checked its token).
@bp.route("/user", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])  # per address: no one fills the disk with empty chats
def user():
    if request.method != "POST":  # GET, and HEAD too: neither starts a chat
        return render_template("user.html")
    try:
        chat_id = chat_sessions.start()
    except OSError:  # the log folder is gone or read-only
        current_app.logger.exception("Could not start a chat session")
        flash("The chat could not be started (the server cannot write its log). Please try again later.")
        return render_template("user.html"), 503
    access.remember_started(chat_id)  # this browser, and only this one, is its user
    tell_desk(chat_id)
    # Redirect after the POST, so reloading the chat page does not start another chat.
    return redirect(url_for("main.chat", role="user", chat_id=chat_id))


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])  # per address: no guessing the password
def sign_in():
    if not current_app.config.get("ATTENDANT_PASSWORD_HASH"):
        return render_template("sign_in.html", form=None)
    form = SignInForm()
    if form.validate_on_submit():
        if access.check_attendant(form.name.data, form.password.data):
            access.sign_in()
            socketio.close_room(DESK)  # list pages of an earlier sign-in hear no more
            return redirect(url_for("main.attendant"))
        form.password.errors.append("That name and password do not match.")
    return render_template("sign_in.html", form=form)


@bp.route("/signout", methods=["POST"])
def sign_out():
    access.sign_out()
    socketio.close_room(DESK)  # nor do those of this one
    flash("You are signed out.")
    return redirect(url_for("main.index"))


@bp.route("/attendant")
def attendant():
    if not access.is_attendant():
        return redirect(url_for("main.sign_in"))
    return render_template("attendant.html")


# The any converter matches only the words listed: /user and /attendant, while /manager is a 404.
# One view and one template serve both clients; role says which one is asking.
@bp.route("/<any(user, attendant):role>/<chat_id>")
def chat(role, chat_id):
    if role not in access.roles_in(chat_id):
        abort(404)  # never started, or not yours: a stranger cannot tell which
    messages = chat_log.read(chat_sessions.log_path(chat_id))
    return render_template("chat.html", role=role, chat_id=chat_id, messages=messages, form=MessageForm())


# Error pages in the site's layout, for every URL of the app (not only this Blueprint's).
@bp.app_errorhandler(404)
def page_not_found(error):
    return render_template("404.html"), 404
