"""Chat sessions: an ID, the moment it started (20261123-154247, then -2, -3 in the same second),
and a log, chat_<ID>.log. An ID is trusted only with that shape (no "/" or "..") AND a log."""
import itertools
import os
import re
from datetime import datetime

from flask import current_app

# fullmatch() with [0-9]: "\d" would also take other scripts' digits.
ID_PATTERN = re.compile(r"[0-9]{8}-[0-9]{6}(-[0-9]+)?")


def log_path(chat_id):
    return os.path.join(current_app.config["LOG_DIR"], f"chat_{chat_id}.log")


def start():
    """Start a new session: create its (empty) log file and return its ID."""
    os.makedirs(current_app.config["LOG_DIR"], exist_ok=True)  # the folder may have been deleted
    started = datetime.now().strftime("%Y%m%d-%H%M%S")
    for number in itertools.count(1):
        chat_id = started if number == 1 else f"{started}-{number}"
        try:  # mode "x" creates the file, or fails if it exists: two sessions never share a log
            with open(log_path(chat_id), "x", encoding="utf-8"):
                return chat_id
        except FileExistsError:
            pass


def exists(chat_id):
    return (isinstance(chat_id, str) and ID_PATTERN.fullmatch(chat_id) is not None
            and os.path.isfile(log_path(chat_id)))


def all_ids():
    """The IDs of all sessions, the newest first (20261123-154247-10 after -9)."""
    names = [name[5:-4] for name in os.listdir(current_app.config["LOG_DIR"]) if name.startswith("chat_") and name.endswith(".log")]
    ids = [chat_id for chat_id in names if ID_PATTERN.fullmatch(chat_id)]
    return sorted(ids, key=lambda chat_id: (chat_id[:15], int(chat_id[16:] or 1)), reverse=True)
