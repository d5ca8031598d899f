"""What to try next, for a failed check."""
import re

from grade_hints import HINTS
from stages import STAGES, is_package_stage, layout_stages

NO_ROUTE = ("No route answered that URL (404): check the @route path, its converter, its methods"
            "{blueprint}.")
WRONG_METHOD = "The URL exists but not for this method (405): list it in methods=[...] on the route."


def status_of(text):
    """The HTTP status a failure reports the app answered with, or ''."""
    got = re.findall(r"\b(?:answered|got|returned|status(?: code)?|gave)\s+(?:with\s+)?(\d{3})\b", text)
    return got[-1] if got else ""


def own_hint(check):
    for paragraph in (check.doc or "").split("\n\n"):
        own = " ".join(paragraph.split())
        if own.lower().startswith("hint:"):
            return own[5:].strip()
    return ""


def hint_for(check, number):
    """A crash or a hang first (whatever a check wants, the app must answer); a missing route
    or method next (the check's own hint would be about a page that is not there); then the
    test's own "Hint:" paragraph, tools/grade_hints.py, and general ones by what failed."""
    text = f"{check.reason}\n{check.details}".lower()
    status = status_of(text)
    if "time limit" in text or "did not finish" in text:
        return ("Something waits forever: an endless loop, a lock never released, or a wait for "
                "an event that never comes. Try the same step by hand with the app running.")
    if status == "500" or "raised at" in text:
        return ("The app raised an error while answering. Run it with `flask --app app run "
                "--debug`, repeat the step in the browser and read the traceback in the terminal.")
    specific = own_hint(check) or HINTS.get(check.function, "")
    expects_404 = "not_found" in check.function or "not found" in check.description.lower()
    if status == "404" and not expects_404:
        general = NO_ROUTE.format(blueprint=" and that the blueprint is registered in create_app()"
                                  if is_package_stage(number) else "")
        return general
    if status == "405":
        return WRONG_METHOD
    if specific:
        return specific
    if "templatenotfound" in text:
        return f"Templates belong in templates/ next to app.py (app/templates/ in {layout_stages(package=True)})."
    if status == "400" or "csrf" in text:
        return ("A form POST needs its CSRF token: put {{ form.csrf_token }} (or "
                "{{ form.hidden_tag() }}) inside the <form>, and give the app a SECRET_KEY.")
    if check.browser:
        return (f"Run `make stage {number}` (or flask --app app run), do the same thing by hand in a "
                "browser and watch its console (F12); the failing page's screenshot and console are "
                "saved where the scorecard's last note says.")
    return (f"Compare with the lesson: {STAGES.get(number, '')}/README.md explains it, and "
            f"`make diff {number}` shows what the stage adds.")
