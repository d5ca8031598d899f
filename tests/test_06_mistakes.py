"""Stage 6: the mistakes its lesson note warns about: messages shown as text, the log's times the
server's own at any hour in any zone, files read and written as UTF-8, links under a URL prefix, no
secret in the code and no debugger."""
from datetime import datetime

from support.mistakes import (HOSTILE, at_any_hour, close_after, every_file_opened_with_an_encoding,
                              every_link_stays_under, every_page_template_extends_the_layout, last_line,
                              no_debugger_switched_on, no_secret_in_the_code, send, shown_as_text)

STAGE = 6
ROLES = ("user", "attendant")


def test_the_code_never_switches_the_debugger_on(stage_folder):
    """Look through the files you hand in for app.run(debug=True), DEBUG = True, FLASK_DEBUG=1 or
    host="0.0.0.0": the debugger belongs to `flask run --debug` on your own machine."""
    no_debugger_switched_on(stage_folder)


def test_no_secret_is_written_in_the_code(stage_folder):
    """Read the secret key (and the attendant's password hash) from the environment or .env with
    app.config.from_prefixed_env(); leave them empty in .env.example."""
    no_secret_in_the_code(stage_folder)


def test_every_page_template_extends_the_layout(stage_folder):
    """Look at the first line of each page template in templates/: a page extends the layout and fills its
    blocks, never copies or includes it."""
    every_page_template_extends_the_layout(stage_folder)


def test_every_file_is_opened_with_an_explicit_encoding(stage_folder):
    """Give every open() of a text file encoding="utf-8", or open it in binary and encode or decode UTF-8
    yourself."""
    every_file_opened_with_an_encoding(stage_folder)


def test_text_a_visitor_sends_is_shown_as_text_on_every_page(client):
    """Show what a visitor typed with {{ value }} in a template; never |safe, Markup(...), {% autoescape false
    %}, or render_template_string with it in the template's source."""
    for text in HOSTILE:
        response = send(client, "/user", text)
        assert response.status_code == 302, f"Sending {text!r} as the user should redirect, not {response.status_code}"
    for role in ROLES:  # both pages show the whole conversation
        page = client.get(f"/{role}").text
        for text in HOSTILE:
            shown_as_text(page, text, f"The {role}'s page, after the user sent it,")


def test_each_message_is_logged_at_the_servers_local_time_at_any_hour_in_any_zone(start_app, stage_env, log_dir):
    """Log datetime.now().isoformat(timespec="seconds"): the server's local time, on a 24-hour clock."""
    def check(started, expected, when):
        client = started.client()
        assert send(client, "/user", "What time is it?").status_code == 302, f"Sending should redirect {when}"
        logged, _role, _text = last_line(log_dir / "chat.log")
        assert close_after(datetime.fromisoformat(logged), expected), (
            f"The message was logged at {logged} {when}, but the server's local time was {expected:%Y-%m-%dT%H:%M:%S}: "
            "log datetime.now() (the server's own time zone, a 24-hour clock), not UTC or %I")
        assert f'<time datetime="{logged}">' in client.get("/user").text, (
            f'The page should show the message with the time it was logged: <time datetime="{logged}">')

    at_any_hour(start_app, stage_env, check)


def test_every_link_works_when_the_site_is_served_under_a_prefix(start_app):
    """Build every URL with url_for(...): links, stylesheets, scripts, form actions and redirects; never write
    /path by hand."""
    started = start_app(prefix="/course")
    assert not started.error, started.error
    client = started.client()
    seen, problems = every_link_stays_under(client, "/course", ["/"])
    assert {"/course/user", "/course/attendant"} <= seen, (
        f"The home page under /course/ should link to both clients under /course/; visited {sorted(seen)}")
    response = send(client, "/course/user", "Hello from under a prefix")
    if response.status_code in (301, 302, 303, 307, 308) and response.location.split("?")[0] != "/course/user":
        problems.append(f"sending from /course/user redirects to {response.location}, not back to /course/user")
    assert not problems, (
        "Served under /course (as a school's server might), every link, stylesheet, form and redirect should "
        "lead under /course/ and answer: build them with url_for(...), never write a URL by hand. Wrong:\n  "
        + "\n  ".join(problems))
