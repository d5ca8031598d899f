"""The pages, as a Blueprint: a group of routes that create_app() registers on the app."""
import os

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from . import chat_log
from .forms import MessageForm

bp = Blueprint("main", __name__)


def log_path(role):
    """Each client keeps its own log: user.log or attendant.log."""
    return os.path.join(current_app.config["LOG_DIR"], f"{role}.log")


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
        if not save(log_path(role), role, form):
            # The page again, with the error and the text still in the box: 503 Service Unavailable.
            return render_template("chat.html", role=role, form=form, messages=chat_log.read(log_path(role))), 503
        flash("Message sent.")
        # Redirect after a successful POST, so reloading the page does not send the message again.
        return redirect(url_for("main.chat", role=role))
    messages = chat_log.read(log_path(role))
    return render_template("chat.html", role=role, form=form, messages=messages)


def save(path, role, form):
    """Append the form's message to the log; on a full disk or a read-only folder, say so on the form."""
    try:
        chat_log.append(path, role, form.text.data)
        return True
    except OSError:
        current_app.logger.exception("The chat log %s could not be written", path)
        form.text.errors.append("The message could not be saved (is the server's disk full?). Please try again.")
        return False


# Error pages in the site's layout, for every URL of the app (not only this Blueprint's).
@bp.app_errorhandler(404)
def page_not_found(error):
    return render_template("404.html"), 404


# A POST without a valid CSRF token (a form left open while the secret key changed, say).
@bp.app_errorhandler(CSRFError)
def form_not_sent(error):
    return render_template("400.html", reason=error.description), 400
