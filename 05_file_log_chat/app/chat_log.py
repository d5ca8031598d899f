"""The chat log: one line per message, easy to read and impossible to forge.

A line is   <time> <role> <text as a JSON string>
e.g.        2026-11-23T15:42:47 user "hello \"you\"\nsecond line"

json.dumps() turns quotes, newlines and other control characters inside the
text into escapes such as \" and \n, so a message always stays on its own
line and can never pretend to be a line of its own.

A full disk or a crash must not corrupt the log either: a line is written
whole or not at all, and reading skips every line this module did not write.
"""
import json
import os
import re
import threading
from datetime import datetime

# Flask serves each request in its own thread. One lock makes sure two
# requests never write (or read half a line) at the same time.
_lock = threading.Lock()

# json.dumps(..., ensure_ascii=False) keeps these three as they are, but some
# editors (and Python's str.splitlines) start a new line at them: escape them too.
_MORE_ESCAPES = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})

# The only lines read back: [0-9], not \d, which would also take other scripts' digits.
_LINE = re.compile(r'([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}) ([a-z]+) (".*")')


def append(path, role, text):
    """Add one message to the log file at path.

    Raises OSError when it cannot (disk full, folder read-only): the log then
    holds exactly what it held before.
    """
    time = datetime.now().isoformat(timespec="seconds")
    line = f"{time} {role} {json.dumps(text, ensure_ascii=False).translate(_MORE_ESCAPES)}\n"
    _write_whole_line(path, line.encode("utf-8"))


def _write_whole_line(path, line):
    with _lock:
        os.makedirs(os.path.dirname(path), exist_ok=True)  # the folder may have been deleted
        # O_APPEND: every write goes to the end of the file, even with other writers.
        log = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(log).st_size
            if size and os.pread(log, 1, size - 1) != b"\n":
                line = b"\n" + line  # a crash left half a line: never glue this one onto it
            try:
                # One write of the whole line; a short write (the disk filled up) is a failure too.
                if os.write(log, line) != len(line):
                    raise OSError("the disk is full: the message was only partly written")
            except OSError:
                os.ftruncate(log, size)  # take back whatever part of the line was written
                raise
        finally:
            os.close(log)


def read(path):
    """All messages in the log file, oldest first: a list of {"time", "role", "text"}."""
    try:
        with _lock:
            with open(path, "rb") as log:
                content = log.read()
    except (FileNotFoundError, NotADirectoryError):
        return []  # nobody has written anything yet (or the log folder is gone)
    messages = []
    # Only whole lines: a last line without its newline was never finished.
    for line in content.split(b"\n")[:-1]:
        message = _parse(line)
        if message is not None:
            messages.append(message)
    return messages


def _parse(line):
    """The message on one line, or None for a line this module did not write (e.g. edited by hand)."""
    try:
        found = _LINE.fullmatch(line.decode("utf-8"))
        text = json.loads(found.group(3)) if found else None
        if not isinstance(text, str):
            return None
        text.encode("utf-8")  # "\ud83d" is valid JSON, but half an emoji no page can show
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or a broken character
        return None
    return {"time": found.group(1), "role": found.group(2), "text": text}
