"""What holds on every page, form and input an app has: the app is crawled from / as a browser
finds it (support/crawl.py), and each invariant runs over everything found, with fixed payloads
and ones Hypothesis generates (support/payloads.py)."""
import hashlib
import json
import re

import pytest

from support.crawl import crawl
from support.hostile import signed_with, stage_copy
from support.payloads import generated, seed_of_this_run, text_stays_text, with_generated
from support.remote import csrf_token
from support.sockets import ATTENDANT_NAME, ATTENDANT_PASSWORD

# The text the crawl types where a form asks for it: stage 4's login, stage 7's sign-in.
FILL = {"username": "ana", "name": ATTENDANT_NAME, "password": ATTENDANT_PASSWORD}


@pytest.fixture
def crawled(start_app, log_dir):
    """A server of the stage, a browser of it (its user and, in stage 7, its signed-in attendant), and
    the site that browser found. Rate limits are off (Flask-Limiter's RATELIMIT_ENABLED): every payload
    is answered."""
    started = start_app(config={"RATELIMIT_ENABLED": False})
    assert started.error is None, f"The app could not start: {started.error}"
    client = started.client()
    return client, crawl(client, FILL)


@pytest.fixture
def replay_seed(request):
    return seed_of_this_run(request.config)


@pytest.mark.stages(1, 2, 3, 4, 5, 6, 7)
def test_text_a_visitor_sends_any_way_comes_back_as_text_on_every_page(crawled, replay_seed):
    """Show a visitor's text with {{ value }}, in a page's text or inside an attribute's quotes;
    never mark it safe, never put it in a <script> or a link's whole URL, never into a template's source."""
    client, site = crawled
    ways = site.ways_in(FILL)
    assert site.html_pages(), f"The crawl from / found no page; it got {site.pages}"

    def check(value):
        payload, mark = value
        for way, send in ways:
            text_stays_text(send(client, payload), payload, mark, way)

    sent = with_generated(check, generated(), replay_seed)
    for path in site.html_pages():  # where the texts were kept: a log, a flashed message
        response = client.get(path)
        for payload, mark in sent:
            text_stays_text([(path, response.status_code, response.get_data(as_text=True))], payload, mark,
                            "one of the ways in before")


def snapshot(folder):
    """Every file under folder, with a digest of its contents."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def changes(before, after):
    return ([f"wrote {name}" for name in after if name not in before] +
            [f"removed {name}" for name in before if name not in after] +
            [f"changed {name}" for name in after if name in before and before[name] != after[name]])


@pytest.mark.stages(5, 6, 7)
def test_opening_any_page_or_file_of_the_site_changes_nothing_on_the_server(crawled, log_dir):
    """Only a POST (a form with method="post", checked by its CSRF token) may write a log, start a
    chat or sign out; a GET or HEAD only reads, whatever its query string says."""
    client, site = crawled
    urls = site.get_urls()
    assert len(urls) >= 3, f"The crawl from / should find the site's pages; it found {urls}"
    for url in urls:
        for method in ("GET", "HEAD"):
            before = snapshot(log_dir)
            with client.open(url, method=method) as response:
                status = response.status_code
            done = changes(before, snapshot(log_dir))
            assert not done, (
                f"{method} {url} (answered {status}) {', '.join(done)} in the log folder. A link, a reload, a "
                "browser's prefetch or a search engine's crawler sends GET: only a POST may change what the "
                "server keeps (messages, chats, who is signed in)"
            )


@pytest.mark.stages(4, 5, 6, 7)
def test_every_cookie_the_site_sets_is_hidden_from_scripts_and_from_other_sites(crawled):
    """Flask's session cookie is HttpOnly by default (SESSION_COOKIE_HTTPONLY): keep it so, and
    keep SESSION_COOKIE_SAMESITE = "Lax"."""
    _client, site = crawled
    assert site.cookies, "The site should set its session cookie (the CSRF token of its forms lives there)"
    for cookie in site.cookies:
        flags = [part.strip().lower() for part in cookie.split(";")[1:]]
        assert "httponly" in flags, (
            f"The cookie {cookie.split('=', 1)[0]} is readable by every script on the page (no HttpOnly): one "
            f"injected script could send it away. Set-Cookie was: {cookie}")
        assert "samesite=lax" in flags or "samesite=strict" in flags, (
            f"The cookie {cookie.split('=', 1)[0]} goes along with other sites' requests (no SameSite=Lax): "
            f"Set-Cookie was: {cookie}")


@pytest.mark.stages(4, 5, 6, 7)
def test_the_environment_wins_over_dotenv_from_any_working_directory(start_app, stage_env, stage_folder, tmp_path):
    """Load the .env next to the app with load_dotenv(its path), never a path relative to the
    working directory, and never with override=True: a setting of the environment wins."""
    copy = stage_copy(stage_folder, tmp_path)
    (copy / ".env").write_text("FLASK_SECRET_KEY=from-the-dotenv-file\n", "utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    no_key = {name: value for name, value in stage_env.items() if name != "FLASK_SECRET_KEY"}
    for env, key, how in ((no_key, "from-the-dotenv-file", "without FLASK_SECRET_KEY in the environment"),
                          ({**no_key, "FLASK_SECRET_KEY": "from-the-environment"}, "from-the-environment",
                           "with FLASK_SECRET_KEY=from-the-environment")):
        started = start_app(env=env, folder=copy, cwd=elsewhere)
        assert started.error is None, f"The app should start from another working directory {how}: {started.error}"
        client = started.client()
        page = next(path for path in ("/login", "/user", "/") if client.get(path).status_code == 200)
        if not signed_with(client, key):
            client.get(page)
        assert signed_with(client, key), (
            f"Started from another working directory {how}, the app should sign its session with {key!r}: the "
            ".env next to the app is read wherever the server starts, and the environment wins over it")


def sign_in_page(client, name, password):
    """(status, the page with the typed values blanked) of a sign-in with name and password."""
    token = csrf_token(client.get("/signin").get_data(as_text=True), "/signin")
    response = client.post("/signin", data={"csrf_token": token, "name": name, "password": password})
    html = response.get_data(as_text=True)
    return response.status_code, re.sub(r'value="[^"]*"', 'value=""', html)


@pytest.mark.stages(7)
def test_a_wrong_name_and_a_wrong_password_get_the_same_answer(crawled):
    """Check the name and the password together and give one error, "That name and password do not
    match.": saying which was wrong tells a stranger the attendant's name."""
    client, _site = crawled
    wrong_name = sign_in_page(client, "not-" + ATTENDANT_NAME, ATTENDANT_PASSWORD)
    wrong_password = sign_in_page(client, ATTENDANT_NAME, "not-" + ATTENDANT_PASSWORD)
    assert wrong_name == wrong_password, (
        "Signing in with a wrong name and with a wrong password should get the same page (the same status, "
        f"the same words); a wrong name got {wrong_name[0]} and a wrong password {wrong_password[0]}, and the pages "
        "differ: the difference tells a stranger whether the name is right")


@pytest.mark.stages(5, 6)
def test_a_conversation_longer_than_any_page_is_shown_whole_with_a_message_at_the_limit_in_emoji(client, log_dir):
    """Show every message of the log (no [-100:], no paging without a way to the rest), and count the
    length limit in characters, as Length(max=500) does, not in bytes."""
    at_the_limit = "🙂" * 500  # 500 characters, 2,000 bytes of UTF-8
    token = csrf_token(client.get("/user").get_data(as_text=True), "/user")
    client.post("/user", data={"csrf_token": token, "text": at_the_limit})
    logs = sorted(path for path in log_dir.rglob("*") if path.is_file())
    assert len(logs) == 1, (
        f"A message of 500 emoji (500 characters, within the limit) should be written to the log; the log folder "
        f"holds {[path.name for path in logs]}")
    texts = [f"message {n:04d}." for n in range(150)]
    with logs[0].open("a", encoding="utf-8") as log:
        log.writelines(f"2026-01-01T00:00:00 attendant {json.dumps(text)}\n" for text in texts)
    page = client.get("/user").get_data(as_text=True)
    assert at_the_limit in page, "The chat page should show the message of 500 emoji whole"
    missing = [text for text in texts if text not in page]
    assert not missing, (
        f"The chat page of a 151-message conversation should show every message; {len(missing)} are not on it, "
        f"e.g. {missing[:3]}")
