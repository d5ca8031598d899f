"""A throwaway nginx on 127.0.0.1 in front of a stage's server, configured as DEPLOY.md says.

The ```nginx block of the stage's DEPLOY.md is the configuration: only its listening port, the
server it passes to and (for a test) its connection bound are replaced. It runs as one process
(``master_process off``), so it never switches users and runs inside the grader's sandbox too.
``make test`` installs Debian's ``nginx`` package when it is missing.
"""
import re
import tempfile
from pathlib import Path

from stages import free_port

from .servers import ChildServer, find_program

CANDIDATES = ("nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx", "/opt/homebrew/bin/nginx")


def deploy_configuration(deploy_md):
    """The ```nginx block of a DEPLOY.md."""
    text = deploy_md.read_text(encoding="utf-8") if deploy_md.is_file() else ""
    found = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert found, "DEPLOY.md should show the proxy's configuration in a ```nginx block"
    return found.group(1)


def find_nginx():
    return find_program(CANDIDATES, "nginx is not installed, and the stage 7 check of DEPLOY.md's proxy needs a real one. "
                        "`make test` installs it when it runs as root with apt-get (apt-get install -y nginx); "
                        "otherwise install it yourself, e.g. `sudo apt-get install nginx` or `brew install nginx`.")


class NginxProxy(ChildServer):
    """``NginxProxy(deploy_md, app_url, connections=3).start().url``: its nginx in front of app_url."""

    name = "nginx"
    ready = "getrlimit(RLIMIT_NOFILE)"  # its last line at start, once it listens

    def __init__(self, deploy_md, app_url, connections):
        super().__init__()
        self.program = find_nginx()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._folder = tempfile.TemporaryDirectory(prefix="nginx-")
        site = deploy_configuration(deploy_md)
        for old, new in (("listen 80;", f"listen 127.0.0.1:{self.port};"),
                         ("http://127.0.0.1:8000", app_url.rstrip("/")),
                         ("limit_conn per_address 50;", f"limit_conn per_address {connections};")):
            assert old in site, f"DEPLOY.md's nginx configuration should contain `{old}`"
            site = site.replace(old, new)
        folder = Path(self._folder.name)
        temp = "".join(f"{kind}_temp_path {folder}/{kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        self.configuration = folder / "nginx.conf"
        self.configuration.write_text(
            f"daemon off;\nmaster_process off;\npid {folder}/nginx.pid;\nerror_log stderr notice;\n"
            f"events {{}}\nhttp {{\naccess_log off;\n{temp}{site}}}\n", encoding="utf-8")

    def command(self):
        return [self.program, "-p", self._folder.name, "-c", str(self.configuration)]

    def stop(self):
        super().stop()
        self._folder.cleanup()
