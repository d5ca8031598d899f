"""The pages, as a Blueprint: create_app() registers it on the app."""
import os

from flask import Blueprint, current_app, flash, redirect, render_template, url_for

from . import chat_log
from .forms import MessageForm

bp = Blueprint("main", __name__)


def log_path():
    """Both clients share one log, chat.log: that is the whole conversation."""
    return os.path.join(current_app.config["LOG_DIR"], "chat.log")


@bp.route("/")
def index():
    return render_template("index.html")


# any(user, attendant) matches only these two words: /manager is a 404.
@bp.route("/<any(user, attendant):role>", methods=["GET", "POST"])
def chat(role):
    form = MessageForm()
    if form.validate_on_submit():
        text = form.text.data or ""
        if text.strip():
            chat_log.append(log_path(), role, text)
            flash("Message sent.")
        # An empty box sends nothing: the redirect just shows the conversation as it is now.
        # Redirect after a POST, so reloading the page does not send it again.
        return redirect(url_for("main.chat", role=role))
    messages = chat_log.read(log_path())
    return render_template("chat.html", role=role, form=form, messages=messages)
