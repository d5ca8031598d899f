"""Who may see a chat: the browser that started it (its session cookie lists the chats it started)
and the signed-in attendant, whose sign-in is also recorded on the server: signing out ends it for
every copy of the cookie and every window still open. Checked for every page and every event."""
import hmac
import os
import secrets
import threading

import click
from dotenv import set_key
from flask import current_app, session
from werkzeug.security import check_password_hash, generate_password_hash

from . import chat_sessions

def remember_started(chat_id):
    """This browser started chat_id: it is its user from now on (of its last 20: the cookie stays small)."""
    session["chats"] = session.get("chats", [])[-19:] + [chat_id]


def roles_in(chat_id):
    """This browser's roles in chat_id: "user" if it started it, "attendant" if signed in. None for
    an ID that does not exist, as for a chat not yours: a stranger cannot tell which."""
    if not chat_sessions.exists(chat_id):
        return []
    roles = ["user"] if chat_id in session.get("chats", []) else []
    return roles + ["attendant"] if is_attendant() else roles


def _sign_in_record():
    return os.path.join(current_app.config["LOG_DIR"], "attendant.signed-in")


def is_attendant():
    token = session.get("attendant")
    try:
        with open(_sign_in_record(), encoding="utf-8") as record:
            return isinstance(token, str) and hmac.compare_digest(token, record.read())
    except OSError:  # nobody is signed in
        return False


def sign_in():
    token = secrets.token_urlsafe()
    with open(_sign_in_record(), "w", encoding="utf-8") as record:
        record.write(token)
    session["attendant"] = token


def sign_out():
    if is_attendant():
        os.remove(_sign_in_record())
    session.pop("attendant", None)


_one_check_at_a_time = threading.Lock()  # a hash costs memory on purpose: many at once could exhaust it


def check_attendant(name, password):
    """True if name and password are the attendant's (FLASK_ATTENDANT_NAME and _PASSWORD_HASH)."""
    config = current_app.config
    # compare_digest takes as long for a near miss as for a far one: the time gives nothing away.
    right_name = hmac.compare_digest(name.encode(), str(config["ATTENDANT_NAME"]).encode())
    try:
        with _one_check_at_a_time:
            right_password = check_password_hash(str(config["ATTENDANT_PASSWORD_HASH"]), password)
    except ValueError:  # not a hash Werkzeug made
        current_app.logger.error("FLASK_ATTENDANT_PASSWORD_HASH is not a Werkzeug hash: run `flask --app app attendant`.")
        return False
    return right_name and right_password


@click.command("attendant")
@click.option("--name", prompt="The attendant's name")
@click.password_option(prompt="The attendant's password")
def attendant_command(name, password):
    """Set up the attendant's sign-in: its name and password's hash go into .env."""
    env_file = os.path.join(os.path.dirname(current_app.root_path), ".env")
    set_key(env_file, "FLASK_ATTENDANT_NAME", name)
    set_key(env_file, "FLASK_ATTENDANT_PASSWORD_HASH", generate_password_hash(password))
    click.echo(f"The attendant {name!r} is set up in {env_file}. Restart the server to sign in.")
