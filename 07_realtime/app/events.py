"""The realtime half of the chat: Socket.IO events.

Each chat session is a Socket.IO room named by its ID: a message to the room reaches every window
of that session, and no other. The attendant's list pages share one more room, "desk".

    page -> server        join        {"chat_id": "20261123-154247", "role": "user"}
    server -> that page   history     {"chat_id", "role", "messages": [{"time", "role", "text"}, ...]}
    page -> server        message     {"text": "Hello"}  (the chat and role come from the join)
    server -> the room    message     {"time": "2026-11-23T15:42:47", "role": "user", "text": "Hello"}
    list page -> server   watch       (no payload; the signed-in attendant only)
    server -> that page   sessions    {"sessions": [{"chat_id"}, ...]}  (the newest first)
    server -> desk        session     {"chat_id"}  (a chat just started)
    server -> that page   chat_error  {"error": "Type a message first."}
"""
import threading

from flask import current_app, session
from flask_socketio import SocketIO, emit, join_room

from . import access, chat_log, chat_sessions, hardening

socketio = SocketIO()  # create_app() connects it to the app

MAX_LENGTH = 500  # characters in one message, as forms.py draws the box
DESK = "desk"  # the room of the attendant's list pages

# Held while a message is logged and sent to the room, and while a window reads the log and joins
# the room: a window gets each message once, in its history or live after it, never both or neither.
room_lock = threading.Lock()


def refuse(reason):  # only the window that sent the event hears it
    emit("chat_error", {"error": reason})


def tell_desk(chat_id):
    socketio.emit("session", {"chat_id": chat_id}, to=DESK)


@socketio.on("join")
def join(data=None):
    chat_id = data.get("chat_id") if isinstance(data, dict) else None
    roles = access.roles_in(chat_id)
    if not roles:
        return refuse("There is no chat session with that ID that you may join.")
    # The page may ask for a role; it gets it only if this browser has it.
    role = data.get("role") if data.get("role") in roles else roles[0]
    # In an event, `session` is this window's own copy of the browser's session.
    session["joined"] = (chat_id, role)
    with room_lock:
        join_room(chat_id)
        messages = chat_log.read(chat_sessions.log_path(chat_id))
        emit("history", {"chat_id": chat_id, "role": role, "messages": messages})


@socketio.on("message")
def message(data=None):
    chat_id, role = session.get("joined", (None, None))
    if role not in access.roles_in(chat_id):  # not joined, or signed out since
        return refuse("Join a chat session before sending messages (signed out? sign in again).")
    if not hardening.message_allowed():
        return refuse("Too many messages at once from your address. Wait a moment.")
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str):
        return refuse('A message is {"text": "..."} with the text as a string.')
    if not text.strip():
        return refuse("Type a message first.")
    if len(text) > MAX_LENGTH:
        return refuse(f"A message can be at most {MAX_LENGTH} characters long.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # JSON can carry half an emoji (a lone surrogate); no page can show it
        return refuse("That message has a broken character in it (half of an emoji?).")
    with room_lock:
        try:
            sent = chat_log.append(chat_sessions.log_path(chat_id), role, text)
        except OSError:  # a full disk or a read-only folder: the log holds what it held before
            current_app.logger.exception("The log of chat session %s could not be written", chat_id)
            return refuse("The message could not be saved (is the server's disk full?). Please try again.")
        emit("message", sent, to=chat_id)


@socketio.on("watch")
def watch(data=None):
    """The attendant's list page: the sessions now, then each new one live (the "desk" room)."""
    if not access.is_attendant():
        return refuse("Sign in as the attendant to see the chat sessions.")
    join_room(DESK)
    emit("sessions", {"sessions": [{"chat_id": chat_id} for chat_id in chat_sessions.all_ids()]})


@socketio.on_error_default  # a handler failed: log it, tell that window, and serve the others
def unexpected_error(error):
    current_app.logger.exception("A Socket.IO event failed")
    refuse("Something went wrong on the server with that event; please try again.")
