"""The mistakes the lesson notes warn about in more than one stage, read from the submission's files
(the debugger, a secret, the layout, the encoding) or seen from outside (links under a URL prefix,
text shown as text, the log's times the server's own at any hour in any zone)."""
from datetime import datetime

import pytest

from support.chat_pages import ROLES, chat_log, send
from support.mistakes import (HOSTILE, at_any_hour, close_after, debugger_switches, every_link_stays_under,
                              files_opened_without_an_encoding, last_line, nothing_found, secrets_in_code,
                              shown_as_text, templates_folder, templates_not_extending_the_layout)
from support.sockets import start_chat

# What the home page under /course/ leads to, at least: so many pages, or these ones.
LINKED_UNDER_THE_PREFIX = {2: 2, 3: 3, 4: 3, 5: {"/course/user", "/course/attendant"},
                           6: {"/course/user", "/course/attendant"}, 7: 1}


@pytest.mark.stages(1, 2, 3, 4, 5, 6, 7)
def test_the_code_never_switches_the_debugger_on(stage_folder):
    """Look through the files you hand in for app.run(debug=True), DEBUG = True, FLASK_DEBUG=1 or
    host="0.0.0.0": the debugger belongs to `flask run --debug` on your own machine."""
    nothing_found(debugger_switches(stage_folder), (
        "The debugger runs any Python a visitor types into an error page: it is for your own machine only, "
        "turned on when you start the server (flask run --debug, make stage N), never in the code or a "
        "committed settings file, and the development server never listens on 0.0.0.0."))


@pytest.mark.stages(2, 3, 4, 5, 6, 7)
def test_every_page_template_extends_the_layout(stage_folder):
    """Look at the first line of each page template in templates/: a page extends the layout and fills its
    blocks, never copies or includes it."""
    templates = templates_folder(stage_folder)
    assert (templates / "base.html").is_file(), f"The layout should be a template of its own: {templates}/base.html"
    assert any(p.name != "base.html" for p in templates.glob("*.html")), (
        f"The pages should be templates in {templates}, next to base.html")
    missing = templates_not_extending_the_layout(stage_folder)
    assert not missing, (
        f"These page templates do not extend the layout: {', '.join(missing)}. Each page starts with "
        '{% extends "base.html" %} and fills in its blocks; a copy of the layout in each page (or an '
        "{% include %} of it) means every change to the layout must be made in every file")


@pytest.mark.stages(4, 5, 6, 7)
def test_no_secret_is_written_in_the_code(stage_folder):
    """Read the secret key (and the attendant's password hash) from the environment or .env with
    app.config.from_prefixed_env(); leave them empty in .env.example."""
    nothing_found(secrets_in_code(stage_folder), (
        "A secret in the code or in a committed settings file is in every copy of the code: anyone who reads "
        "it can sign session cookies (or sign in). Read keys and password hashes from the environment or .env, "
        "and leave them empty in .env.example."))


@pytest.mark.stages(5, 6, 7)
def test_every_file_is_opened_with_an_explicit_encoding(stage_folder):
    """Give every open() of a text file encoding="utf-8", or open it in binary and encode or decode UTF-8
    yourself."""
    nothing_found(files_opened_without_an_encoding(stage_folder), (
        "A chat log holds any language and emoji: open it with encoding=\"utf-8\" (or in binary), or it is "
        "read and written in the machine's own encoding (cp1252 on many Windows PCs, where an emoji is an "
        "error)."))


@pytest.mark.stages(2, 3, 4, 5, 6, 7)
def test_every_link_works_when_the_site_is_served_under_a_prefix(start_app, stage):
    """Build every URL with url_for(...): links, stylesheets, scripts, form actions and redirects; never write
    /path by hand."""
    started = start_app(prefix="/course")
    assert not started.error, started.error
    client = started.client()
    pages = ["/"]
    if stage == 7:  # the chat pages too, one of them reached through the redirect of "Start a chat"
        pages += ["/user", "/signin", f"/user/{start_chat(client, '/course')}"]
    seen, problems = every_link_stays_under(client, "/course", pages)
    linked = LINKED_UNDER_THE_PREFIX[stage]
    assert linked <= seen if isinstance(linked, set) else len(seen) >= linked, (
        f"The home page under /course/ should link to the site's other pages ({linked}); visited {sorted(seen)}")
    if stage in (5, 6):
        response = send(client, "/course/user", "Hello from under a prefix")
        if response.status_code in (301, 302, 303, 307, 308) and response.location.split("?")[0] != "/course/user":
            problems.append(f"sending from /course/user redirects to {response.location}, not back to /course/user")
    assert not problems, (
        "Served under /course (as a school's server might), every link, script, stylesheet, form and redirect "
        "should lead under /course/ and answer: build them with url_for(...), never write a URL by hand. Wrong:\n  "
        + "\n  ".join(problems))


@pytest.mark.stages(5, 6)
def test_text_a_visitor_sends_is_shown_as_text_on_every_page(client, stage):
    """Show what a visitor typed with {{ value }} in a template; never |safe, Markup(...), {% autoescape false
    %}, or render_template_string with it in the template's source."""
    for sender in ROLES:
        for text in HOSTILE:
            response = send(client, f"/{sender}", text)
            assert response.status_code == 302, f"Sending {text!r} as the {sender} should redirect, not {response.status_code}"
        # In stage 5 each role sees its own messages; from stage 6 on both pages show the whole conversation.
        for role in ROLES if stage == 6 else [sender]:
            page = client.get(f"/{role}").text
            for text in HOSTILE:
                shown_as_text(page, text, f"The {role}'s page, after the {sender} sent it,")


@pytest.mark.stages(5, 6)
def test_each_message_is_logged_at_the_servers_local_time_at_any_hour_in_any_zone(start_app, stage_env, log_dir,
                                                                                  stage):
    """Log datetime.now().isoformat(timespec="seconds"): the server's local time, on a 24-hour clock."""
    def check(started, expected, when):
        client = started.client()
        assert send(client, "/user", "What time is it?").status_code == 302, f"Sending should redirect {when}"
        logged, _role, _text = last_line(chat_log(stage, log_dir, "user"))
        assert close_after(datetime.fromisoformat(logged), expected), (
            f"The message was logged at {logged} {when}, but the server's local time was {expected:%Y-%m-%dT%H:%M:%S}: "
            "log datetime.now() (the server's own time zone, a 24-hour clock), not UTC or %I")
        assert f'<time datetime="{logged}">' in client.get("/user").text, (
            f'The page should show the message with the time it was logged: <time datetime="{logged}">')

    at_any_hour(start_app, stage_env, check)
