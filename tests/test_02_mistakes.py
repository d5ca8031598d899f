"""Stage 2: the mistakes its lesson note warns about: the about page's time the server's own at any hour
in any zone (tests/test_mistakes.py holds those stage 2 shares with the others)."""
import re
from datetime import timedelta

from support.mistakes import at_any_hour, close_after

STAGE = 2


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


