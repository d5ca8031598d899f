"""The pages, as a Blueprint: a group of routes that create_app() registers on the app."""
import os

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from . import chat_log
from .forms import MessageForm

bp = Blueprint("main", __name__)


def log_path():
    """Both clients share one log, chat.log: together they hold the whole conversation."""
    return os.path.join(current_app.config["LOG_DIR"], "chat.log")


@bp.route("/")
def index():
    return render_template("index.html")


# The any converter matches only the words listed: /user and /attendant, while /manager is a 404.
# One view and one template serve both clients; role says which one is asking.
@bp.route("/<any(user, attendant):role>", methods=["GET", "POST"])
def chat(role):
    # formdata=request.form: only the text fields are read, so a file sent as one counts as missing.
    form = MessageForm(formdata=request.form)
    if form.validate_on_submit():
        # An empty box is a Refresh: nothing is written, and the redirect shows the conversation now.
        if not (form.text.data or "").strip():
            return redirect(url_for("main.chat", role=role))
        try:
            chat_log.append(log_path(), role, form.text.data)
            flash("Message sent.")
            # Redirect after a successful POST, so reloading the page does not send the message again.
            return redirect(url_for("main.chat", role=role))
        except OSError:  # a full disk, a folder that cannot be written: the page again, saying so
            current_app.logger.exception("The chat log could not be written")
            form.text.errors.append("The message could not be saved. Please try again.")
    return render_template("chat.html", role=role, form=form, messages=chat_log.read(log_path()))


# Error pages in the site's layout, for every URL of the app (not only this Blueprint's).
@bp.app_errorhandler(404)
def page_not_found(error):
    return render_template("404.html"), 404
