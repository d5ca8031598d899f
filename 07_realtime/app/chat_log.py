r"""The chat log: one message a line, <time> <role> <text as JSON>, e.g.
2026-11-23T15:42:47 user "hello \"you\"\nsecond line \u00e9". json.dumps() escapes quotes,
line breaks and all but plain ASCII, so a message can never pass for a line of its own."""
import json
import os
import re
import threading
from datetime import datetime

_lock = threading.Lock()  # Flask serves each request in a thread of its own: one writes at a time
_LINE = re.compile(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d) ([a-z]+) ("[ -~]*")', re.ASCII)  # as append() writes it


def append(path, role, text):
    """Add a message to the log; return it as {"time", "role", "text"}. Raises OSError when it
    cannot write (disk full, folder read-only): the log then holds what it held before."""
    message = {"time": datetime.now().isoformat(timespec="seconds"), "role": role, "text": text}
    line = f"{message['time']} {role} {json.dumps(text)}\n".encode("ascii")
    os.makedirs(os.path.dirname(path), exist_ok=True)  # the folder may have been deleted
    with _lock, open(path, "ab", buffering=0) as log:  # unbuffered: write() tells how much it wrote
        size = log.tell()
        try:
            if log.write(line) < len(line):  # the disk filled up halfway through the line
                raise OSError("the disk is full")
        except OSError:
            log.truncate(size)  # take back any part of the line: the next one starts clean
            raise
    return message


def read(path):
    """The messages in the log, oldest first, skipping every line append() did not write."""
    try:
        with open(path, "rb") as log:  # a byte that is not ASCII becomes "\ufffd": no line of ours
            lines = log.read().decode("ascii", "replace").split("\n")[:-1]  # the last was never ended
    except (FileNotFoundError, NotADirectoryError):
        return []  # nothing written yet, or the log folder is gone
    messages = []
    for line in lines:
        found = _LINE.fullmatch(line)
        if not found:
            continue
        try:
            text = json.loads(found[3])  # fails on '"two" "strings"'
            text.encode("utf-8")  # fails on "\ud83d": valid JSON, but half an emoji
        except ValueError:
            continue
        messages.append({"time": found[1], "role": found[2], "text": text})
    return messages
