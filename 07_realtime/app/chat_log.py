"""The chat log: one line per message, easy to read and impossible to forge.

A line is   <time> <role> <text as a JSON string>
e.g.        2026-11-23T15:42:47 user "hello \"you\"\nsecond line"

json.dumps() turns quotes, newlines and other control characters inside the
text into escapes such as \" and \n, so a message always stays on its own
line and can never pretend to be a line of its own.
"""
import json
import threading
from datetime import datetime

# Flask serves each request in its own thread. One lock makes sure two
# requests never write (or read half a line) at the same time.
_lock = threading.Lock()

# json.dumps(..., ensure_ascii=False) keeps these three as they are, but some
# editors (and Python's str.splitlines) start a new line at them: escape them too.
_MORE_ESCAPES = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def append(path, role, text):
    """Add one message to the log file at path; return it as {"time", "role", "text"}."""
    time = datetime.now().isoformat(timespec="seconds")
    line = f"{time} {role} {json.dumps(text, ensure_ascii=False).translate(_MORE_ESCAPES)}\n"
    with _lock:
        with open(path, "a", encoding="utf-8", newline="\n") as log:
            log.write(line)
    return {"time": time, "role": role, "text": text}


def read(path):
    """All messages in the log file, oldest first: a list of {"time", "role", "text"}."""
    try:
        with _lock:
            with open(path, encoding="utf-8", newline="\n") as log:
                lines = log.readlines()
    except FileNotFoundError:
        return []  # nobody has written anything yet
    messages = []
    for line in lines:
        try:
            time, role, text = line.split(" ", 2)
            messages.append({"time": time, "role": role, "text": json.loads(text)})
        except ValueError:
            continue  # not a line this module wrote (e.g. edited by hand): skip it
    return messages
