"""Who may see a chat session: the browser that started it, and a signed-in attendant.

Both facts live in the Flask session (the signed cookie), so the pages and the
Socket.IO events check the same thing. Flask-SocketIO gives each connection a
copy of the Flask session as it was when the connection opened: a page that
connects after its browser started a chat, or signed in, has it.
"""
import hmac

from flask import current_app, session
from werkzeug.security import check_password_hash

from . import chat_sessions

KEEP_CHATS = 20  # the most recent chats a browser can come back to (the cookie stays small)


def remember_started(chat_id):
    """This browser started chat_id: it is the user of that chat from now on."""
    session["chats"] = session.get("chats", [])[-(KEEP_CHATS - 1):] + [chat_id]


def is_attendant():
    return session.get("attendant") is True


def role_in(chat_id):
    """"user" for the browser that started the chat, "attendant" for a signed-in attendant,
    None for anyone else. None also for an ID that does not exist: a stranger who guesses
    IDs cannot tell the sessions that exist from those that do not."""
    if not chat_sessions.exists(current_app.config["LOG_DIR"], chat_id):
        return None
    if chat_id in session.get("chats", []):
        return "user"
    return "attendant" if is_attendant() else None


def attendant_configured():
    config = current_app.config
    return bool(config.get("ATTENDANT_NAME") and config.get("ATTENDANT_PASSWORD_HASH"))


def check_attendant(name, password):
    """True if name and password are the attendant's (FLASK_ATTENDANT_NAME and _PASSWORD_HASH)."""
    config = current_app.config
    # compare_digest takes as long for a near miss as for a far one: the time gives nothing away.
    right_name = hmac.compare_digest(name.encode(), str(config["ATTENDANT_NAME"]).encode())
    try:
        right_password = check_password_hash(str(config["ATTENDANT_PASSWORD_HASH"]), password)
    except ValueError:  # not a hash Werkzeug made
        current_app.logger.error("FLASK_ATTENDANT_PASSWORD_HASH is not a Werkzeug hash: see .env.example.")
        return False
    return right_name and right_password
