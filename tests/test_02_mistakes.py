"""Stage 2: the mistakes its lesson note warns about (the layout really extended, the debugger off)."""
import re
from datetime import timedelta

from support.mistakes import (at_any_hour, close_after, every_link_stays_under,
                              every_page_template_extends_the_layout, no_debugger_switched_on)

STAGE = 2


def test_the_code_never_switches_the_debugger_on(stage_folder):
    """Look through the files you hand in for app.run(debug=True), DEBUG = True, FLASK_DEBUG=1 or
    host="0.0.0.0": the debugger belongs to `flask run --debug` on your own machine."""
    no_debugger_switched_on(stage_folder)


def test_every_page_template_extends_the_layout(stage_folder):
    """Look at the first line of each page template in templates/: a page extends the layout and fills its
    blocks, never copies or includes it."""
    every_page_template_extends_the_layout(stage_folder)


def test_about_page_shows_the_servers_local_time_and_greets_for_it_at_any_hour_in_any_zone(start_app, stage_env):
    """Pass datetime.now() (the server's local time), show it with %H (24-hour clock), and try the greeting's if
    at 11:59, 12:00, 17:59 and 18:00."""
    def check(started, expected, when):
        html = started.client().get("/about").text
        match = re.search(r"\b(\d\d):(\d\d):(\d\d)\b", html)
        assert match, f"The about page should show the time it was made, as HH:MM:SS, {when}"
        shown = expected.replace(hour=int(match[1]), minute=int(match[2]), second=int(match[3]))
        if shown < expected.replace(hour=0, minute=0, second=0) or (shown - expected).total_seconds() < -43200:
            shown += timedelta(days=1)  # the clock ticked past midnight
        assert close_after(shown, expected), (
            f"The about page shows {match[0]} {when}, but the server's local time is {expected:%H:%M:%S}: "
            "show datetime.now() (the server's own time zone, on a 24-hour clock: %H), not UTC or %I")
        hour = expected.hour
        greeting = "good morning" if hour < 12 else "good afternoon" if hour < 18 else "good evening"
        assert greeting in html.lower(), (
            f"At {expected:%H:%M} the about page should say {greeting!r} ({when}): morning before 12:00, "
            "afternoon from 12:00 to 17:59, evening from 18:00")

    at_any_hour(start_app, stage_env, check)


def test_every_link_works_when_the_site_is_served_under_a_prefix(start_app):
    """Build every URL with url_for(...): links, stylesheets, scripts, form actions and redirects; never write
    /path by hand."""
    started = start_app(prefix="/course")
    assert not started.error, started.error
    seen, problems = every_link_stays_under(started.client(), "/course", ["/"])
    assert len(seen) >= 2, f"The home page under /course/ should link to the site's other pages; visited {sorted(seen)}"
    assert not problems, (
        "Served under /course (as a school's server might), every link, stylesheet and form should lead "
        "under /course/ and answer: build them with url_for(...), never write a URL by hand. Wrong:\n  "
        + "\n  ".join(problems))
