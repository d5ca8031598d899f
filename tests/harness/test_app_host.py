"""The harness that serves every check's app (support/remote.py, tools/grading/app_host.py),
tested for itself: plain and in its bubblewrap sandbox, a server reached over HTTP must answer
as the app imported here does, and must see nothing of the checks.
"""
import re
import shutil

import pytest

from grading.sandbox import detect
from loader import load_app
from stages import stage_dir
from support.remote import RemoteClient, launch_host, session_data

LOGIN_FORM = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(scope="module", params=["plain", "sandbox"])
def host(request, tmp_path_factory):
    if request.param == "sandbox" and detect() != "bwrap":
        pytest.fail("The sandboxed app host needs bubblewrap: run `make sandbox`.", pytrace=False)
    base = tmp_path_factory.mktemp(f"host-{request.param}")
    writable = base / "writable"
    writable.mkdir()
    (base / "hidden.txt").write_text("the grader's record", encoding="utf-8")
    started = launch_host(request.param, hide=[base], writable=[writable],
                          readable=[stage_dir(n) for n in (1, 2, 4)])
    started.base, started.writable, started.mode = base, writable, request.param
    yield started
    started.close()


def start(host, number, env=None, config=None, name="app", **options):
    logs = host.writable / f"{name}-logs"
    logs.mkdir(exist_ok=True)
    server = host.start(stage_dir(number), {"FLASK_SECRET_KEY": "key-of-the-check", **(env or {})},
                        {"TESTING": True, "LOG_DIR": str(logs), **(config or {})},
                        host.writable / f"{name}-output.txt", **options)
    assert not server.error, server.error
    return server


def sign_in(client):
    token = LOGIN_FORM.search(client.get("/login").text).group(1)
    return client.post("/login", data={"csrf_token": token, "username": "ana", "password": "secret-enough"},
                       follow_redirects=True)


def test_a_remote_client_browses_like_flasks_test_client(host):
    server = start(host, 4)
    local, _ = load_app(stage_dir(4), {"TESTING": True})
    answers = []
    for client in (RemoteClient(server.port), local.test_client()):
        page = sign_in(client)
        missing = client.get("/no/such/page?x=%2F")
        answers.append((page.status_code, [r.status_code for r in page.history], "Welcome" in page.text,
                        missing.status_code, missing.mimetype))
    assert answers[0] == answers[1], f"Over HTTP (first) and in-process (second) the same browsing differed: {answers}"
    assert answers[0][:3] == (200, [302], True), f"Signing in should redirect home with a welcome: {answers[0]}"
    server.stop()


def test_the_session_cookie_is_read_only_with_the_key_that_signed_it(host):
    server = start(host, 4)
    client = RemoteClient(server.port)
    client.get("/login")
    cookie = client.get_cookie("session")
    assert cookie is not None, "Stage 4 keeps the CSRF token in the session cookie"
    assert "csrf_token" in session_data(cookie.value, "key-of-the-check")
    assert session_data(cookie.value, "another-key") is None
    server.stop()


def test_each_server_gets_its_own_environment_clock_zone_and_prefix(host):
    evening = start(host, 2, env={"TZ": "Asia/Kolkata"}, clock="2026-03-01T14:00:00+00:00", name="evening",
                    prefix="/course")
    morning = start(host, 2, env={"TZ": "America/Sao_Paulo"}, clock="2026-03-01T14:00:00+00:00", name="morning")
    client = RemoteClient(evening.port)
    assert client.get("/about").status_code == 404, "Under the prefix, /about is not the app's"
    assert "good evening" in client.get("/course/about").text  # 19:30 in Kolkata
    assert "good morning" in RemoteClient(morning.port).get("/about").text  # 11:00 in São Paulo
    evening.stop()
    morning.stop()


def test_a_folder_that_does_not_load_gets_its_error_and_line(host):
    broken = host.writable / "broken"
    shutil.copytree(stage_dir(1), broken)
    source = (broken / "app.py").read_text(encoding="utf-8")
    (broken / "app.py").write_text(source + "\nwidth = 1 / 0\n", encoding="utf-8")
    server = host.start(broken, {}, None, host.writable / "broken-output.txt")
    assert server.port is None and "ZeroDivisionError" in server.error and "app.py, line" in server.error, server.error


def test_the_app_cannot_see_the_hidden_folder_nor_the_checks_processes(host):
    spy = host.writable / "spy"
    shutil.copytree(stage_dir(1), spy)
    with open(spy / "app.py", "a", encoding="utf-8") as app:
        app.write(f"""
import os
print("PROCESSES", len([p for p in os.listdir("/proc") if p.isdigit()]), flush=True)
print("HIDDEN", os.path.exists({str(host.base / "hidden.txt")!r}), flush=True)
""")
    server = host.start(spy, {}, None, host.writable / "spy-output.txt")
    assert not server.error, server.error
    hidden = server.wait_for("HIDDEN")
    processes = int(server.wait_for("PROCESSES").split()[1])
    if host.mode == "sandbox":
        assert hidden.split()[1] == "False", "The sandboxed app could read a hidden file"
        assert processes == 0, f"The sandboxed app saw {processes} processes in /proc"
    else:  # unsandboxed, the same probe sees both: it would tell a leaking sandbox
        assert hidden.split()[1] == "True" and processes > 0, (hidden, processes)
    server.stop()
