"""The realtime half of the chat: Socket.IO events.

Each chat session is a Socket.IO room named by the session's ID. A window
joins its session's room; a message sent to the room reaches every window in
that session at once, and no window of another session. The attendants' list
pages share one more room, "desk", which hears about every session.

Who may join is the server's decision, never the page's: the role comes from
the Flask session the connection carries (access.py), and a stranger gets the
same answer for a session that exists as for one that does not.

    client -> server       join        {"chat_id": "20261123-154247"}
    server -> that client  history     {"chat_id", "role", "ended": false, "messages": [{"time", "role", "text"}, ...], "before": 1234}
    server -> room         presence    {"present": ["attendant", "user"]}  (who is in the chat now)
    server -> room         notice      {"text": "The attendant joined."}  (or "... left.")
    client -> server       message     {"text": "Hello"}  (the role and session come from the join)
    server -> room         message     {"time": "2026-11-23T15:42:47", "role": "user", "text": "Hello"}
    client -> server       end         (no payload: ends the joined session)
    server -> room         ended       {"text": "The user ended the chat."}
    client -> server       watch       (no payload: an attendant's list page asks for the sessions)
    server -> that client  sessions    {"sessions": [{"chat_id", "status"}, ...]}  (the newest first)
    server -> desk         session     {"chat_id", "status"}  (status: "waiting", "answered" or "ended")
    server -> that client  chat_error  {"error": "Type a message first."}
    client -> server       older       {"before": 1234}  (the "before" of the history)
    server -> that client  older       {"chat_id": ..., "messages": [...], "before": 0}  (0: no more)
"""
import threading
import time

from flask import current_app, request
from flask import session as window_state  # in a Socket.IO event: this connection's own copy
from flask_socketio import ConnectionRefusedError, SocketIO, emit, join_room, leave_room

from . import access, chat_log, chat_sessions

# create_app() connects this to the app with socketio.init_app(app, ...).
socketio = SocketIO()

MAX_LENGTH = 500  # characters in one message
DESK = "desk"  # the room of every attendant's list page
LEAVE_GRACE_SECONDS = 3  # a reload comes back well within this; FLASK_LEAVE_GRACE_SECONDS changes it
HISTORY_WINDOW = 100  # messages sent on join; older ones on request

# The session and role each connected window joined, by its connection's ID
# (request.sid). A window that has not joined is not in here.
joined = {}
# Per session, per role, the windows in it now (their request.sid), and the roles
# the room was last told are present. These live in this process's memory.
windows = {}
present = {}

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


def tell_desk(chat_id, status):
    socketio.emit("session", {"chat_id": chat_id, "status": status}, to=DESK)


@socketio.on("join")
def join(data=None):
    chat_id = data.get("chat_id") if isinstance(data, dict) else None
    role = access.role_in(chat_id)  # the page's own "role", if it sends one, is ignored
    if role is None:
        return refuse("There is no chat session with that ID that you may join.")
    leave()  # a window is in one session at a time
    with room_lock:
        join_room(chat_id)
        joined[request.sid] = (chat_id, role)
        windows.setdefault(chat_id, {}).setdefault(role, set()).add(request.sid)
        # Only the most recent messages: a long session's whole log would hold the lock for seconds.
        messages, before = chat_log.recent(chat_sessions.log_path(log_dir(), chat_id), HISTORY_WINDOW)
        ended = chat_sessions.has_ended(log_dir(), chat_id)
        emit("history", {"chat_id": chat_id, "role": role, "ended": ended, "messages": messages,
                         "before": before})
        # Back within the grace period (a reload): nobody else hears of it.
        arrived = role not in present.setdefault(chat_id, set())
        present[chat_id].add(role)
        emit("presence", {"present": sorted(present[chat_id])}, to=chat_id if arrived else request.sid)
    if arrived:
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
        if chat_sessions.has_ended(log_dir(), chat_id):
            return refuse("This chat has ended: it can be read, not written to.")
        try:
            sent = chat_log.append(chat_sessions.log_path(log_dir(), chat_id), role, text)
        except OSError:  # a full disk or a read-only folder: the log holds what it held before
            current_app.logger.exception("The log of chat session %s could not be written", chat_id)
            return refuse("The message could not be saved (is the server's disk full?). Please try again.")
        emit("message", sent, to=chat_id)
    if role == "attendant":
        tell_desk(chat_id, "answered")


@socketio.on("end")
def end(data=None):
    chat_id, role = joined.get(request.sid, (None, None))
    if chat_id is None:
        return refuse("Join a chat session before ending it.")
    with room_lock:  # no message gets in after the end
        if chat_sessions.end(log_dir(), chat_id, role):
            emit("ended", {"text": f"The {role} ended the chat."}, to=chat_id)
            tell_desk(chat_id, "ended")


@socketio.on("watch")
def watch(data=None):
    """An attendant's list page: the sessions now, then each change live (the "desk" room)."""
    if not access.is_attendant():
        return refuse("Sign in as an attendant to see the chat sessions.")
    join_room(DESK)
    sessions = [{"chat_id": chat_id, "status": chat_sessions.status(log_dir(), chat_id)}
                for chat_id in chat_sessions.all_ids(log_dir())]
    emit("sessions", {"sessions": sessions})


@socketio.on("disconnect")
def disconnect(reason=None):
    leave()


def leave():
    """Take this window out of its session's room, if it is in one. If it was its role's
    last window there, the room hears "left" only after a grace period: a reload is back by then."""
    chat_id, role = joined.pop(request.sid, (None, None))
    if chat_id:
        leave_room(chat_id)
        with room_lock:
            windows[chat_id][role].discard(request.sid)
            last_one = not windows[chat_id][role]
        if last_one:
            grace = float(current_app.config.get("LEAVE_GRACE_SECONDS", LEAVE_GRACE_SECONDS))
            socketio.start_background_task(settle, chat_id, grace)


def settle(chat_id, grace):
    """After the grace period: say who left, then who is present now."""
    socketio.sleep(grace)
    with room_lock:
        here = {role for role, sids in windows.get(chat_id, {}).items() if sids}
        for role in sorted(present.get(chat_id, set()) - here):
            socketio.emit("notice", {"text": f"The {role} left."}, to=chat_id)
        socketio.emit("presence", {"present": sorted(here)}, to=chat_id)
        present[chat_id] = here
        if not here:  # nobody left in it: forget the session
            present.pop(chat_id), windows.pop(chat_id, None)


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
