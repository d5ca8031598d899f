"""The student's loop around the lessons: `make stage N` (tools/serve.py) and its port.

These start real servers on 127.0.0.1, as a student's `make stage 1` does.
"""
import http.client
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stages import ROOT, STAGES, stage_dir
from support.servers import LiveServer

STAGE = 1


def get_home(port):
    """(status, body) of GET / on 127.0.0.1:port."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def refused(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def visit_and_let_the_server_close(port):
    """A page load that leaves the server's end of its connection in TIME_WAIT.

    Flask's development server closes each connection after its response, so the server
    closes first; the port then keeps that connection in TIME_WAIT for about a minute.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as tab:
        tab.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while chunk := tab.recv(65536):  # b"" once the server has closed its end
            answer += chunk
    return answer


@pytest.mark.parametrize("debug", [False, True], ids=["DEBUG=0", "reloader"])
def test_a_restart_keeps_the_port_while_a_tab_left_connections_behind(stage_env, debug):
    first = LiveServer(STAGE, stage_dir(STAGE), stage_env, debug=debug).start()
    port = first.port
    try:
        answer = visit_and_let_the_server_close(port)
        assert answer.startswith(b"HTTP/1.1 200"), f"The stage {STAGE} server did not answer GET /:\n{first.output}"
    finally:
        first.stop()

    second = LiveServer(STAGE, stage_dir(STAGE), stage_env, port=port, debug=debug).start()
    try:
        assert second.port == port, (
            f"After a restart `make stage {STAGE}` moved from port {port} to {second.port}, so the "
            f"student's open tab lost its server. Connections in TIME_WAIT do not hold a port for "
            f"Flask (it binds with SO_REUSEADDR), so serve.py must not count them either. "
            f"Its output:\n{second.output}")
        assert get_home(port)[0] == 200, f"The restarted server did not answer GET /:\n{second.output}"
    finally:
        second.stop()


def test_a_port_another_program_holds_makes_serve_move_and_say_so(stage_env):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        held = holder.getsockname()[1]
        server = LiveServer(STAGE, stage_dir(STAGE), stage_env, port=held).start()
        try:
            assert server.port != held, "serve.py should not claim a port another program listens on"
            assert f"Port {held} is held by another program" in server.output, (
                f"serve.py should say why it moved to port {server.port}:\n{server.output}")
            assert get_home(server.port)[0] == 200, f"The server did not answer on its new port:\n{server.output}"
        finally:
            server.stop()


def test_make_stage_reloads_on_an_edit_and_ctrl_c_stops_the_reloader_and_its_server(stage_env, tmp_path):
    folder = tmp_path / "01_hello"
    folder.mkdir()
    app_file = folder / "app.py"
    lesson = (stage_dir(STAGE) / "app.py").read_text(encoding="utf-8")
    app_file.write_text(lesson, encoding="utf-8")
    server = LiveServer(STAGE, folder, stage_env, debug=True).start()
    try:
        assert "restarts when you save a file" in server.output, (
            f"`make stage N` should say that it reloads on every edit:\n{server.output}")
        # The reloader's server answers only once the reloader has noted every file's time.
        assert "Hello, Flask!" in get_home(server.port)[1], f"The server did not serve app.py:\n{server.output}"
        seen = len(server.lines)
        app_file.write_text(lesson.replace("Hello, Flask!", "Hello, edited!"), encoding="utf-8")
        assert server.wait_for("Detected change", after=seen), (
            f"Saving app.py should restart the server (Flask's reloader):\n{server.output}")
        assert server.wait_for("Debugger is active", after=seen), f"The server did not come back:\n{server.output}"
        status, page = get_home(server.port)
        assert "Hello, edited!" in page, f"After the reload the server should serve the edited app.py ({status})"
    finally:
        server.stop(how=signal.SIGINT)  # what Ctrl+C sends to the terminal's process group
    assert server.exit_code is not None, "Ctrl+C should end `make stage N`"
    assert refused(server.port), (
        "After Ctrl+C something still listens on the port: the reloader's server outlived it")


def test_ruff_finds_nothing_in_the_tools_the_tests_the_bench_and_the_lessons():
    """pyproject.toml's [tool.ruff] rules hold everywhere, so each `# noqa` names a real exception."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed: `make setup` installs it from requirements-dev.txt"
    folders = ["tests", "tools", "bench", *STAGES.values()]
    result = subprocess.run([ruff, "check", "--no-cache", "--output-format", "concise", *folders],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"ruff found problems (fix them, or say why with # noqa):\n{result.stdout}{result.stderr}"
