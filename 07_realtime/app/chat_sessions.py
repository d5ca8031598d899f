"""Chat sessions: one conversation each, with its own log file.

A session's ID is the moment it started, YYYYMMDD-hhmmss (20261123-154247),
and its log is chat_<ID>.log in the log folder. A second session started in
the same second gets -2 after the time, the next one -3, and so on.

An ID arrives from outside (in a URL, in a Socket.IO event), so it is only
trusted when it has exactly that shape AND its log file exists. The shape
alone already rules out "/", "." and "..": no ID can name a file outside the
log folder.

Ending a session writes chat_<ID>.ended next to its log: from then on the
session is read-only, and its log stays as it was.
"""
import os
import re
from datetime import datetime

from . import chat_log

# fullmatch() with [0-9]: "\d" would also accept other scripts' digits, and a
# pattern ending in "$" would let a trailing newline through.
ID_PATTERN = re.compile(r"[0-9]{8}-[0-9]{6}(-[0-9]+)?")


def log_path(log_dir, chat_id):
    return os.path.join(log_dir, f"chat_{chat_id}.log")


def start(log_dir):
    """Start a new session: create its (empty) log file and return its ID."""
    os.makedirs(log_dir, exist_ok=True)  # the folder may have been deleted
    started = datetime.now().strftime("%Y%m%d-%H%M%S")
    number = 1
    while True:
        chat_id = started if number == 1 else f"{started}-{number}"
        try:
            # Mode "x" creates the file, or fails when it already exists. Even two
            # sessions started at the same moment in two threads get two IDs.
            with open(log_path(log_dir, chat_id), "x", encoding="utf-8"):
                return chat_id
        except FileExistsError:
            number += 1


def exists(log_dir, chat_id):
    """True only for the ID of a session that was started here."""
    return (
        isinstance(chat_id, str)
        and ID_PATTERN.fullmatch(chat_id) is not None
        and os.path.isfile(log_path(log_dir, chat_id))
    )


def ended_path(log_dir, chat_id):
    return os.path.join(log_dir, f"chat_{chat_id}.ended")


def end(log_dir, chat_id, role):
    """End the session; False if it had ended already."""
    try:
        with open(ended_path(log_dir, chat_id), "x", encoding="utf-8") as marker:
            marker.write(f"Ended by the {role} at {datetime.now().isoformat(timespec='seconds')}.\n")
        return True
    except FileExistsError:
        return False


def has_ended(log_dir, chat_id):
    return os.path.isfile(ended_path(log_dir, chat_id))


def status(log_dir, chat_id):
    """What the attendants' list shows: "waiting", "answered" or "ended"."""
    if has_ended(log_dir, chat_id):
        return "ended"
    messages = chat_log.read(log_path(log_dir, chat_id))
    return "answered" if any(m["role"] == "attendant" for m in messages) else "waiting"


def _started_order(chat_id):
    """20261123-154247-10 comes after 20261123-154247-9 (as text it would not)."""
    return chat_id[:15], int(chat_id[16:] or 1)


def all_ids(log_dir):
    """The IDs of all sessions, the newest first."""
    ids = []
    for name in os.listdir(log_dir):
        chat_id = name.removeprefix("chat_").removesuffix(".log")
        if name == f"chat_{chat_id}.log" and ID_PATTERN.fullmatch(chat_id):
            ids.append(chat_id)
    return sorted(ids, key=_started_order, reverse=True)
