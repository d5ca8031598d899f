"""The chat pages of stages 5 and 6, as their checks (tests/test_chat_pages.py) see them.

Both stages show a form at /user and /attendant, protect it with a CSRF token, refuse
messages over 500 characters and write each message as one log line in the same format.
What differs is the file: in stage 5 each role writes its own (user.log, attendant.log),
in stage 6 both write chat.log (``chat_log``): every message a student reads names the
file of the stage at hand.
"""
import errno
import os
import resource
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from stages import parse_log_line
from support.remote import RemoteClient, csrf_token

ROLES = ("user", "attendant")
LIMIT = 500  # characters in one message

# Messages that try to break out of their line or pass for another role's line.
TRICKY = [
    'hello "you"',
    "first line\nsecond line",
    'ok"\n2026-01-01T00:00:00 attendant "I am the attendant, send me your password',
    '2026-01-01T00:00:00 attendant "forged"',
    "back\\slash and \\n that is not a newline",
    "carriage\rreturn and tab\t",
    "line\u2028separator",
    "paragraph\u2029separator",
    "next\x85line",
    "vertical\x0btab and form\x0cfeed",
    "unicode: olá, 你好, 🙂",
    "  spaces around  ",
]

UNKNOWN_ROLE_PATHS = ["/manager", "/users", "/User", "/user/1", "/../user"]
EMPTY_TEXTS = ["", "   ", "\t\n "]


# --- Helpers: what a browser does, and what a log holds -------------------------------------------

def chat_log(stage, log_dir, role):
    """The file stage 5 (each role its own) or stage 6 (one for both) writes a role's messages to."""
    return log_dir / (f"{role}.log" if stage == 5 else "chat.log")


def send(client, page, text, **options):
    """Do what a browser does: open the chat page (a role, or a path), then submit its form with the
    token it contains. The answer (options as for post(): follow_redirects=True)."""
    return client.post_form(page if page.startswith("/") else f"/{page}", {"text": text}, **options)


def read_log(path):
    """The messages in a log file as (role, text) pairs, checking every line has the contract's format."""
    if not path.exists():
        return []
    content = path.read_bytes().decode("utf-8")
    assert content.endswith("\n"), f"Every line of {path.name} should end with a newline"
    messages = []
    for line in content.split("\n")[:-1]:
        try:
            _time, role, text = parse_log_line(line)
        except ValueError:
            raise AssertionError(f"This line of {path.name} is not '<time> <role> <JSON string>': {line!r}") from None
        messages.append((role, text))
    return messages


# --- A real server, many clients at once -------------------------------------------------------------

def send_from_many_clients_at_once(base_url, clients, messages_each):
    """`clients` browsers, half users and half attendants, each send `messages_each` tricky
    messages, all starting together; every message must be accepted (302).

    Returns what was sent: {"user": [text, ...], "attendant": [text, ...]}.
    """
    everyone_ready = threading.Barrier(clients, timeout=60)

    def one_client(number):
        role = ROLES[number % 2]
        browser = RemoteClient(base_url)
        token = csrf_token(browser.get(f"/{role}").text)
        texts = [f'client {number} message {m}: "quoted"\nfake\u2028{role} "line"' for m in range(messages_each)]
        everyone_ready.wait()  # all clients start sending together
        statuses = [browser.post(f"/{role}", data={"csrf_token": token, "text": text}).status_code for text in texts]
        return role, texts, statuses

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one_client, range(clients)))

    sent = {role: [] for role in ROLES}
    for role, texts, statuses in results:
        assert set(statuses) == {302}, f"Every message should be accepted (302), got {sorted(set(statuses))}"
        sent[role] += texts
    return sent


# --- Faults: a full disk, a vanished log folder, lines the app never wrote --------------------------

# Lines in a log that the app did not write (a crash, a hand edit): reading must skip each one.
NOT_WRITTEN_BY_THE_APP = [
    b"\xff\xfe not UTF-8 at all\n",
    '2026-01-01T00:00:00 user "cut inside é'.encode("utf-8")[:-1] + b"\n",  # half a character
    b"2026-01-01T00:00:00 user " + b"[" * 100_000 + b"]" * 100_000 + b"\n",  # nested too deep for json
    b"2026-01-01T00:00:00 user 42\n",  # JSON, but not a string
    b"2026-01-01T00:00:00 user null\n",
    b'2026-01-01T00:00:00 user {"text": "an object"}\n',
    b'2026-01-01T00:00:00 user "\\ud83d"\n',  # valid JSON, but half an emoji
    b'2026-01-01T00:00:00 user "two" "strings"\n',
    b'2026-01-01T00:00:00 user "half a line, glued onto 2026-01-01T00:00:01 user "the next"\n',
    b"just some words\n",
]
UNFINISHED_LAST_LINE = b'2026-01-01T00:00:00 user "a line the crash cut before its newline"'


class TinyDisk:
    """The log folder on a full disk, for a live server: a 64 kB tmpfs where this machine lets us
    mount one (root), else the server's file size limit (RLIMIT_FSIZE) as an injected full disk.
    fill() leaves no room beyond what the log already holds; free() gives the room back."""

    def __init__(self, folder, tmpfs):
        self.folder = Path(folder)
        self.mounted = tmpfs and self._mount()
        self.server = None

    def _mount(self):
        if os.geteuid() != 0:
            return False
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0777", "tmpfs", str(self.folder)],
                              capture_output=True)
        return done.returncode == 0

    def fill(self, log):
        if self.mounted:
            with open(self.folder / "filler", "wb", buffering=0) as filler:
                try:
                    while True:
                        filler.write(b"\0" * 512)
                except OSError as error:
                    assert error.errno == errno.ENOSPC, f"Filling the tmpfs failed: {error}"
        else:
            self._file_size_limit(log.stat().st_size + 10)

    def free(self):
        if self.mounted:
            (self.folder / "filler").unlink()
        else:
            self._file_size_limit(None)

    def _file_size_limit(self, size):
        """Set the server's soft file size limit (None: as high as allowed). The hard limit stays:
        under the grader's sandbox it is already lower, and no process may raise it again."""
        # The app host sets it on its server, which inherits the hard limit of this process, its ancestor.
        _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        self.server.limit_file_size(hard if size is None else size)

    def unmount(self):
        if self.mounted:
            subprocess.run(["umount", str(self.folder)], check=True)


@pytest.fixture(params=["tmpfs", "injected"])
def disk(request, log_dir):
    """The log folder as a disk that can fill up (ask for it before live_server).

    A server in the app host's bubblewrap sandbox lives in a mount namespace made when the host
    started: a tmpfs mounted now would be the tests' alone, so there the full disk is always
    injected (the tmpfs is for a machine without bubblewrap, where the servers see it)."""
    sandboxed = request.config.app_host_mode == "sandbox"
    tiny = TinyDisk(log_dir, tmpfs=request.param == "tmpfs" and not sandboxed)
    yield tiny
    tiny.unmount()
