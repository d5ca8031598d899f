"""A throwaway redis-server on 127.0.0.1 for the scale-out test.

It listens on a free port, keeps nothing on disk (``--save "" --appendonly no``)
and is stopped by its process ID afterwards. ``make test`` installs Debian's
``redis-server`` package when it is missing.
"""
import shutil
import socket
import subprocess
import tempfile
import time

from .servers import free_port

START_TIMEOUT = 10  # seconds for redis-server to answer PING
CANDIDATES = ("redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server",
              "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server")


class RedisMissing(Exception):
    """No redis-server program on this machine."""


def find_redis_server():
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise RedisMissing(
        "redis-server is not installed, and the stage 7 scale-out test needs a real one. "
        "`make test` installs it when it runs as root with apt-get "
        "(apt-get install -y redis-server); otherwise install it yourself, "
        "e.g. `sudo apt-get install redis-server` or `brew install redis`.")


def ping(port, timeout=0.5):
    """True when a Redis server on 127.0.0.1:port answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """``with RedisServer() as redis: redis.url`` is redis://127.0.0.1:<free port>."""

    def __init__(self):
        self.program = find_redis_server()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self._process = None
        self._folder = None

    def start(self):
        self._folder = tempfile.TemporaryDirectory(prefix="redis-")
        self._process = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self._folder.name,
             "--daemonize", "no", "--logfile", ""],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                output = self._stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}. "
                                   f"Its output:\n{output}")
            time.sleep(0.05)
        return self

    def _stop(self):
        output = ""
        if self._process:
            if self._process.poll() is None:
                self._process.terminate()
            try:
                output = self._process.communicate(timeout=5)[0].decode(errors="replace")
            except subprocess.TimeoutExpired:
                self._process.kill()
                output = self._process.communicate()[0].decode(errors="replace")
        if self._folder:
            self._folder.cleanup()
        return output

    def stop(self):
        self._stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
