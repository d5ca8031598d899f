"""The student's loop around the lessons: `make stage N` (tools/serve.py), its port and its key.

These start real servers on 127.0.0.1, as a student's `make stage 1` does.
"""
import http.client
import os
import re
import shutil
import socket
import subprocess

import pytest
import tinycss2

from diff_stages import stage_diff
from stages import ROOT, STAGES, not_copied, stage_dir
from support.remote import csrf_token
from support.remote import RemoteClient, session_data
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
        assert server.interrupt() is not None, f"Ctrl+C should end `make stage N`:\n{server.output}"
        assert refused(server.port), (
            "After Ctrl+C something still listens on the port: the reloader's server outlived it")
    finally:
        server.stop()


def test_make_stage_reads_no_dotenv_from_the_folders_above_the_stage(stage_env, tmp_path):
    """`make stage 4` in a folder below one whose .env holds a FLASK_SECRET_KEY does not use that key:
    serve.py tells Flask's CLI not to look for .env files above the stage (FLASK_SKIP_DOTENV)."""
    (tmp_path / ".env").write_text("FLASK_SECRET_KEY=key-of-the-folder-above\n", encoding="utf-8")
    folder = tmp_path / "course" / STAGES[4]
    shutil.copytree(stage_dir(4), folder, ignore=shutil.ignore_patterns("__pycache__", ".env"))
    env = {k: v for k, v in stage_env.items() if k != "FLASK_SECRET_KEY"}
    server = LiveServer(4, folder, {**env, "FLASK_SECRET_KEY": None}).start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/login")
        response = connection.getresponse()
        cookie = re.search(r"session=([^;]+)", response.getheader("Set-Cookie") or "")
        response.read()
        connection.close()
        assert cookie, f"Stage 4's login page should set the session cookie:\n{server.output}"
        assert session_data(cookie.group(1), "key-of-the-folder-above") is None, (
            "The app signed its cookie with the key of a .env ABOVE the stage folder: Flask's CLI "
            "searched the parent folders (serve.py should set FLASK_SKIP_DOTENV)")
    finally:
        server.stop()


def stage_copy(number, tmp_path):
    """A copy of stage N as a fresh clone has it: no .env (so the repo's own folder never gets one)."""
    folder = tmp_path / STAGES[number]
    shutil.copytree(stage_dir(number), folder, ignore=not_copied())
    return folder


def without_a_key(stage_env):
    """The environment of a student's shell: no FLASK_SECRET_KEY, so the stage reads its .env."""
    return {**stage_env, "FLASK_SECRET_KEY": None}


def test_make_stage_4_keeps_its_secret_key_across_a_reload_so_a_form_opened_before_a_save_still_posts(
        stage_env, tmp_path):
    folder = stage_copy(4, tmp_path)
    server = LiveServer(4, folder, without_a_key(stage_env), debug=True).start()
    try:
        wrote = [line for line in server.lines if "with a new secret key" in line]
        assert len(wrote) == 1 and f"{folder.name}/.env" in wrote[0], (
            f"The first `make stage 4` should write {folder.name}/.env with a new secret key and say so once; "
            f"it said:\n{server.output}")
        assert (folder / ".env").is_file(), f"`make stage 4` said it wrote {folder / '.env'}, but there is no such file"
        browser = RemoteClient(server.port)
        token = csrf_token(browser.get("/login").text, "Stage 4's /login")
        seen = len(server.lines)
        os.utime(folder / "app.py")  # a save
        assert server.wait_for("Detected change", after=seen), f"Saving app.py should restart the server:\n{server.output}"
        assert server.wait_for("Debugger is active", after=seen), f"The server did not come back:\n{server.output}"
        # The reloader holds the port through the restart, so this request waits for the new server.
        response = browser.post("/login", data={"username": "ana", "password": "secret", "csrf_token": token})
        said = " ".join(re.findall(r"[^<>]*CSRF[^<>]*", response.text)) or response.text[:200]
        assert response.status_code in (302, 303), (
            f"A login form opened before a save should still post after the reload (302), got {response.status_code}: "
            f"{said.strip()!r}. The restarted server signed with another key, so the form's CSRF token and the "
            f"session cookie no longer match: serve.py should write the stage's .env with one FLASK_SECRET_KEY "
            f"before starting Flask.\n{server.output}")
    finally:
        server.stop()


def test_make_stage_leaves_an_existing_dotenv_byte_for_byte_and_the_app_signs_with_its_key(stage_env, tmp_path):
    folder = stage_copy(4, tmp_path)
    mine = b"# my own settings\r\nFLASK_SECRET_KEY=the-students-own-key\r\nFLASK_MAX_CONTENT_LENGTH=2000000"
    (folder / ".env").write_bytes(mine)
    server = LiveServer(4, folder, without_a_key(stage_env)).start()
    try:
        response = RemoteClient(server.port).get("/login")
        cookie = re.search(r"session=([^;]+)", response.headers.get("Set-Cookie", ""))
        assert cookie and session_data(cookie.group(1), "the-students-own-key") is not None, (
            f"Stage 4 should sign its session cookie with the key of its own .env:\n{server.output}")
        assert "with a new secret key" not in server.output, f"serve.py claims to have written a .env:\n{server.output}"
    finally:
        server.stop()
    assert (folder / ".env").read_bytes() == mine, (
        "`make stage 4` changed an existing .env: it is the student's, so it must be left byte for byte as it was")


def test_make_stage_writes_no_dotenv_for_a_folder_whose_env_example_names_no_secret_key(stage_env, tmp_path):
    """A student's exercise 4 starts as a copy of stage 3: no .env.example yet, so nothing to fill in."""
    folder = stage_copy(3, tmp_path)
    server = LiveServer(4, folder, without_a_key(stage_env)).start()
    server.stop()
    assert not (folder / ".env").exists(), (
        f"serve.py wrote a .env in a folder that has no .env.example naming FLASK_SECRET_KEY:\n{server.output}")


class MakeStage(LiveServer):
    """`make stage N DIR=folder PORT=port` itself, as a student types it in the repo."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cwd = ROOT

    def command(self):
        return ["make", "--no-print-directory", "stage", str(self.stage), f"DIR={self.folder}", f"PORT={self.port}",
                f"DEBUG={int(self.debug)}"]


# A make run by a test must not join the jobserver of the `make test` around it.
NO_OUTER_MAKE = {"MAKEFLAGS": None, "MFLAGS": None, "MAKELEVEL": None}


def test_make_stage_4_with_dir_serves_the_students_copy_with_its_own_key(stage_env, tmp_path):
    folder = stage_copy(4, tmp_path)
    base = folder / "templates" / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("<body>", '<body><p>served from my copy</p>', 1),
                    encoding="utf-8")
    server = MakeStage(4, folder, {**without_a_key(stage_env), **NO_OUTER_MAKE}).start()
    try:
        status, page = get_home(server.port)
        assert "served from my copy" in page, (
            f"`make stage 4 DIR={folder}` should serve that folder, but its home page ({status}) is not the copy's. "
            f"The Makefile should pass DIR to tools/serve.py as --dir. Output:\n{server.output}")
        assert "with a new secret key" in server.output and (folder / ".env").is_file(), (
            f"`make stage 4 DIR=...` should write the copy's .env with a secret key, as for the repo's stage:\n{server.output}")
    finally:
        server.stop()


def test_make_attendant_then_make_stage_7_one_browser_keeps_its_chat_across_a_save_and_opens_it_as_the_attendant(
        stage_env, tmp_path):
    folder = stage_copy(7, tmp_path)
    setup = subprocess.run(["make", "--no-print-directory", "attendant", f"DIR={folder}"], cwd=ROOT,
                           input="alex\ncorrect horse\ncorrect horse\n", capture_output=True, text=True, timeout=120,
                           env={name: value for name, value in {**os.environ, **NO_OUTER_MAKE}.items() if value is not None})
    assert setup.returncode == 0 and "FLASK_ATTENDANT_PASSWORD_HASH" in (folder / ".env").read_text(encoding="utf-8"), (
        f"`make attendant DIR=...` should write the attendant's name and password hash to that folder's .env; "
        f"it exited {setup.returncode}:\n{setup.stdout}{setup.stderr}")
    server = MakeStage(7, folder, {**without_a_key(stage_env), "FLASK_LOG_DIR": str(tmp_path / "logs"),
                                   **NO_OUTER_MAKE}, debug=True).start()
    try:
        browser = RemoteClient(server.port)
        started = browser.post("/user", data={"csrf_token": csrf_token(browser.get("/user").text, "/user")})
        assert started.status_code == 302, f"Starting a chat should redirect to it, not answer {started.status_code}"
        seen = len(server.lines)
        os.utime(folder / "app" / "__init__.py")  # a save
        assert server.wait_for("Detected change", after=seen), f"Saving should restart the server:\n{server.output}"
        assert server.wait_for("Debugger is active", after=seen), f"The server did not come back:\n{server.output}"
        again = browser.get(started.location)
        assert again.status_code == 200, (
            f"The user's chat should survive a save: {started.location} answered {again.status_code} after the reload. "
            f"The restarted server must sign with the same key (.env's FLASK_SECRET_KEY).\n{server.output}")
        signed_in = browser.post("/signin", data={"csrf_token": csrf_token(browser.get("/signin").text, "/signin"),
                                                  "name": "alex", "password": "correct horse"})
        assert signed_in.status_code == 302, (
            f"Signing in with what `make attendant` was told should redirect to the list, not answer "
            f"{signed_in.status_code}")
        as_attendant = started.location.replace("/user/", "/attendant/")
        assert browser.get(as_attendant).status_code == 200, (
            f"The browser that started the chat and then signed in should open {as_attendant} as the attendant")
    finally:
        server.stop()


# --- each stage's stylesheet and `make diff` ------------------------------------------------

# The <input> type each WTForms field renders (a stage's forms make inputs no template names).
FIELD_INPUTS = {"StringField": "text", "PasswordField": "password", "BooleanField": "checkbox",
                "SubmitField": "submit"}


def stylesheet(number):
    found = sorted(stage_dir(number).glob("**/static/style.css"))
    return found[0].read_text(encoding="utf-8") if found else None


def selectors(css):
    """{text: tokens} of every selector of a stylesheet, e.g. 'ul#messages li.user', 'input[type="text"]:focus'."""
    found = {}
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type != "qualified-rule":  # an @-rule (@media and the like: the stylesheets have none)
            continue
        selector = []
        for token in [*rule.prelude, ","]:
            if token == ",":
                found[tinycss2.serialize(selector).strip()] = selector
                selector = []
            else:
                selector.append(token)
    return found


def names(tokens):
    """(kind, name) of each tag, class, id and input type a selector names; pseudo-classes name none."""
    previous = None
    for token in tokens:
        if token.type == "ident" and previous == ".":
            yield "class", token.value
        elif token.type == "ident" and previous != ":":
            yield "tag", token.value
        elif token.type == "hash":
            yield "id", token.value
        elif token.type == "[] block":
            attribute = [part.value for part in token.content if part.type in ("ident", "string")]
            if len(attribute) == 2 and attribute[0] == "type":
                yield "input", attribute[1]
        elif token.type == "function":  # :has(main#chat), :not(.notice)
            yield from names(token.arguments)
        previous = token


def what_a_stage_uses(number):
    """{kind: names}: the tags, classes, ids and input types the stage's templates, scripts and forms produce."""
    folder = stage_dir(number)
    sources = [p.read_text(encoding="utf-8") for pattern in ("**/*.html", "**/*.js", "**/*.py")
               for p in folder.glob(pattern) if "vendor" not in p.parts]
    text = "\n".join(sources)
    tags = set(re.findall(r"<([a-z][a-z0-9]*)\b", text)) | {"html", "body"}
    inputs = set(re.findall(r'type="([a-z]+)"', text))
    for field, kind in FIELD_INPUTS.items():
        if field in text:
            tags |= {"input", "label"}
            inputs.add(kind)
    words = set(re.findall(r"[\w-]+", text))  # class names may come from data: class="{{ message.role }}"
    return {"tag": tags, "class": words, "id": words, "input": inputs}


def unused_selectors(number):
    """The selectors stage N adds to the stylesheet that none of its pages can match."""
    used = what_a_stage_uses(number)
    before = selectors(stylesheet(number - 1) or "")
    return [text for text, tokens in sorted(selectors(stylesheet(number)).items())
            if text not in before and any(name not in used[kind] for kind, name in names(tokens))]


STYLED = [n for n in STAGES if stylesheet(n)]


@pytest.mark.parametrize("number", STYLED)
def test_each_stage_adds_css_only_for_what_its_own_pages_use(number):
    unused = unused_selectors(number)
    assert not unused, (
        f"Stage {number} adds CSS for what none of its pages show: {', '.join(unused)}. "
        f"Each stage adds the CSS its own concept needs, so `make diff {number}` reads as the lesson; "
        f"move these rules to the stage whose pages use them.")


@pytest.mark.parametrize("number", [n for n in STYLED if n - 1 in STYLED])
def test_each_stage_keeps_the_stylesheet_before_it_and_adds_at_the_end(number):
    before, after = stylesheet(number - 1), stylesheet(number)
    assert after.startswith(before), (
        f"Stage {number}'s style.css should begin with stage {number - 1}'s, byte for byte, and add its "
        f"own section at the end: otherwise `make diff {number}` shows CSS the lesson does not touch.")


def test_make_diff_5_shows_the_move_to_a_factory_as_a_change_of_app_py():
    shown = stage_diff(5)
    assert "diff --git a/04_forms/app.py b/05_file_log_chat/app/__init__.py" in shown, (
        "`make diff 5` should compare app.py with app/__init__.py, so the move to create_app() reads line by line")
    assert "+def create_app(" in shown and "-app = Flask(__name__)" in shown
    assert "static/style.css -> app/static/style.css" in shown, "style.css moves into app/ as it is"
    assert "deleted file mode" not in shown, "Pages stage 5 drops should be named in one line, not shown in full"
    dropped = [line for line in shown.splitlines() if line.startswith("Stage 5 no longer has")]
    assert len(dropped) == 1 and "templates/about.html" in dropped[0], shown[-500:]
