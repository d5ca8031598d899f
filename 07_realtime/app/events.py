"""The realtime half of the chat: Socket.IO events.

Each chat session is a Socket.IO room named by the session's ID. A window
joins its session's room; a message sent to the room reaches every window in
that session at once, and no window of another session.

    client -> server       join        {"chat_id": "20261123-154247", "role": "user"}
    server -> that client  history     {"chat_id": ..., "messages": [{"time", "role", "text"}, ...], "before": 1234}
    server -> room         notice      {"text": "The attendant joined."}  (or "... left.")
    client -> server       message     {"text": "Hello"}  (the role and session come from the join)
    server -> room         message     {"time": "2026-11-23T15:42:47", "role": "user", "text": "Hello"}
    server -> that client  chat_error  {"error": "Type a message first."}
    client -> server       older       {"before": 1234}  (the "before" of the history)
    server -> that client  older       {"chat_id": ..., "messages": [...], "before": 0}  (0: no more)
"""
import threading
import time

from flask import current_app, request
from flask import session as window_state  # in a Socket.IO event: this connection's own copy
from flask_socketio import ConnectionRefusedError, SocketIO, emit, join_room, leave_room

from . import chat_log, chat_sessions

# create_app() connects this to the app with socketio.init_app(app, ...).
socketio = SocketIO()

ROLES = ("user", "attendant")
MAX_LENGTH = 500  # characters in one message
HISTORY_WINDOW = 100  # messages sent on join; older ones on request

# The session and role each connected window joined, by its connection's ID
# (request.sid). A window that has not joined is not in here.
joined = {}

# Held while a message is written to the log and sent to the room, and while
# a window joins the room and gets the history. So a window that joins gets
# each message exactly once: in the history, or live after it, never both and
# never neither. Every window also sees the messages in the log's order.
room_lock = threading.Lock()


def refuse(reason):
    """Tell only the window that sent the event what was wrong with it."""
    emit("chat_error", {"error": reason})


def log_dir():
    return current_app.config["LOG_DIR"]


@socketio.on("join")
def join(data=None):
    chat_id = data.get("chat_id") if isinstance(data, dict) else None
    role = data.get("role") if isinstance(data, dict) else None
    if role not in ROLES:
        return refuse('Join as "user" or "attendant".')
    if not chat_sessions.exists(log_dir(), chat_id):
        return refuse("There is no chat session with that ID: start one from the user page.")
    leave()  # a window is in one session at a time
    with room_lock:
        join_room(chat_id)
        joined[request.sid] = (chat_id, role)
        # Only the most recent messages: a long session's whole log would hold the lock for seconds.
        messages, before = chat_log.recent(chat_sessions.log_path(log_dir(), chat_id), HISTORY_WINDOW)
        emit("history", {"chat_id": chat_id, "messages": messages, "before": before})
    emit("notice", {"text": f"The {role} joined."}, to=chat_id, include_self=False)


@socketio.on("message")
def message(data=None):
    session = joined.get(request.sid)
    if session is None:
        return refuse("Join a chat session before sending messages.")
    if sending_too_fast():
        return refuse_flood()
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str):
        return refuse('A message is {"text": "..."} with the text as a string.')
    if not text.strip():
        return refuse("Type a message first.")
    if len(text) > MAX_LENGTH:
        return refuse(f"A message can be at most {MAX_LENGTH} characters long.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # JSON can carry half an emoji (a lone surrogate); no file can store it
        return refuse("That message has a broken character in it (half of an emoji?).")
    chat_id, role = session
    with room_lock:
        try:
            sent = chat_log.append(chat_sessions.log_path(log_dir(), chat_id), role, text)
        except OSError:  # a full disk or a read-only folder: the log holds what it held before
            current_app.logger.exception("The log of chat session %s could not be written", chat_id)
            return refuse("The message could not be saved (is the server's disk full?). Please try again.")
        emit("message", sent, to=chat_id)


@socketio.on("disconnect")
def disconnect(reason=None):
    leave()


def leave():
    """Take this window out of its session's room, if it is in one, and say so there."""
    chat_id, role = joined.pop(request.sid, (None, None))
    if chat_id:
        leave_room(chat_id)
        emit("notice", {"text": f"The {role} left."}, to=chat_id)


@socketio.on_error_default
def unexpected_error(error):
    """An event handler failed: log it, tell that window, and go on serving the others."""
    current_app.logger.exception("A Socket.IO event failed")
    refuse("Something went wrong on the server with that event; please try again.")


# --- Bounds: what one client may cost ------------------------------------------------------------

@socketio.on("connect")
def connect(auth=None):
    if too_many_connections():
        raise ConnectionRefusedError("Too many chat windows are open from your address: close some first.")


def too_many_connections():
    """True when this connection's address already holds MAX_CONNECTIONS_PER_CLIENT connections."""
    address = request.environ.get("REMOTE_ADDR")
    # socketio.server.environ has the WSGI environ of every open connection, this one included.
    open_here = sum(1 for environ in list(socketio.server.environ.values()) if environ.get("REMOTE_ADDR") == address)
    return open_here > current_app.config["MAX_CONNECTIONS_PER_CLIENT"]


def sending_too_fast():
    """A token bucket per connection: a burst of 4 seconds' worth of messages, then MESSAGES_PER_SECOND.

    Flask-SocketIO gives each connection its own copy of the session (window_state), so the
    bucket lives and dies with the connection.
    """
    rate = current_app.config["MESSAGES_PER_SECOND"]
    now = time.monotonic()
    tokens, last = window_state.get("message_bucket", (4 * rate, now))
    tokens = min(4 * rate, tokens + (now - last) * rate)
    window_state["message_bucket"] = (max(tokens - 1, 0), now)
    if tokens >= 1:
        window_state["refused_in_a_row"] = 0
    return tokens < 1


def refuse_flood():
    """Refuse a message over the rate; a window that goes on flooding is disconnected, so the
    server stops reading (and buffering) what it sends."""
    rate = current_app.config["MESSAGES_PER_SECOND"]
    refused = window_state["refused_in_a_row"] = window_state.get("refused_in_a_row", 0) + 1
    if refused > 4 * rate:
        refuse("Far too many messages: this window was disconnected. Reload the page to chat again.")
        # Close the connection itself (Engine.IO's), not only the Socket.IO namespace on it.
        server = socketio.server
        return server.eio.disconnect(server.manager.eio_sid_from_sid(request.sid, "/"))
    refuse(f"Too many messages at once: at most {rate} a second. Wait a moment.")


@socketio.on("older")
def older(data=None):
    """A window asks for the messages before those it has: {"before": the "before" of its last history/older}."""
    session_joined = joined.get(request.sid)
    if session_joined is None:
        return refuse("Join a chat session before asking for its history.")
    before = data.get("before") if isinstance(data, dict) else None
    if type(before) is not int or before < 0:
        return refuse('Ask for older messages with {"before": <the "before" the history gave you>}.')
    chat_id, _role = session_joined
    # No room_lock: these messages are in the log already, and live ones only come after them.
    messages, before = chat_log.recent(chat_sessions.log_path(log_dir(), chat_id), HISTORY_WINDOW, before)
    emit("older", {"chat_id": chat_id, "messages": messages, "before": before})
