"""A throwaway redis-server on 127.0.0.1 for the scale-out test.

It listens on a free port, keeps nothing on disk (``--save "" --appendonly no``)
and is stopped by its process ID afterwards. ``make test`` installs Debian's
``redis-server`` package when it is missing.
"""
import tempfile
import time

import redis

from stages import free_port

from .servers import ChildServer, find_program

CANDIDATES = ("redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server",
              "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server")


def find_redis_server():
    return find_program(CANDIDATES, "redis-server is not installed, and the stage 7 scale-out test needs a real one. "
                        "`make test` installs it when it runs as root with apt-get "
                        "(apt-get install -y redis-server); otherwise install it yourself, "
                        "e.g. `sudo apt-get install redis-server` or `brew install redis`.")


class RedisServer(ChildServer):
    """``with RedisServer() as redis: redis.url`` is redis://127.0.0.1:<free port>."""

    name = "redis-server"
    ready = "Ready to accept connections"

    def __init__(self):
        super().__init__()
        self.program = find_redis_server()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self._folder = tempfile.TemporaryDirectory(prefix="redis-")

    def command(self):
        return [self.program, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self._folder.name,
                "--daemonize", "no", "--logfile", ""]

    def stop(self):
        super().stop()
        self._folder.cleanup()

    def subscribers(self):
        """How many clients are subscribed to a channel or a pattern right now."""
        with redis.Redis.from_url(self.url) as client:
            return sum(1 for one in client.client_list()
                       if int(one.get("sub", 0)) + int(one.get("psub", 0)) > 0)

    def wait_for_subscribers(self, count, timeout=10):
        """True once ``count`` clients listen; False if they do not within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while self.subscribers() < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True
