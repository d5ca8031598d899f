"""Stage 2: the mistakes its lesson note warns about (the layout really extended, the debugger off)."""
import re
from datetime import timedelta

from support.mistakes import (at_any_hour, close_after, debugger_switches, every_link_stays_under, templates_folder,
                              templates_not_extending_the_layout)

STAGE = 2

DEBUGGER = ("The debugger runs any Python a visitor types into an error page: it is for your own machine only, "
            "turned on when you start the server (flask run --debug, make stage N), never in the code or a "
            "committed settings file, and the development server never listens on 0.0.0.0. Found:\n  ")


def test_the_code_never_switches_the_debugger_on(stage_folder):
    found = debugger_switches(stage_folder)
    assert not found, DEBUGGER + "\n  ".join(found)


def test_every_page_template_extends_the_layout(stage_folder):
    templates = templates_folder(stage_folder)
    assert (templates / "base.html").is_file(), f"The layout should be a template of its own: {templates}/base.html"
    pages = [p for p in templates.glob("*.html") if p.name != "base.html"]
    assert pages, f"The pages should be templates in {templates}, next to base.html"
    missing = templates_not_extending_the_layout(stage_folder)
    assert not missing, (
        f"These page templates do not extend the layout: {', '.join(missing)}. Each page starts with "
        '{% extends "base.html" %} and fills in its blocks; a copy of the layout in each page means every '
        "change to it must be made in every file"
    )


def test_about_page_shows_the_servers_local_time_and_greets_for_it_at_any_hour_in_any_zone(start_app, stage_env):
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
    started = start_app(prefix="/course")
    assert not started.error, started.error
    seen, problems = every_link_stays_under(started.client(), "/course", ["/"])
    assert len(seen) >= 2, f"The home page under /course/ should link to the site's other pages; visited {sorted(seen)}"
    assert not problems, (
        "Served under /course (as a school's server might), every link, stylesheet and form should lead "
        "under /course/ and answer: build them with url_for(...), never write a URL by hand. Wrong:\n  "
        + "\n  ".join(problems))
