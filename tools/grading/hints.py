"""What to try next, for a failed check: its hint, the check's docstring."""
import re

from stages import is_package_stage

HANG = ("Something waits forever: an endless loop, a lock never released, or a wait for an event that "
        "never comes. Try the same step by hand with the app running.")
CRASH = ("The app raised an error while answering. Run it with `flask --app app run --debug`, repeat "
         "the step in the browser and read the traceback in the terminal.")
NO_ROUTE = ("No route answered that URL (404): check the @route path, its converter, its methods"
            "{blueprint}.")
WRONG_METHOD = "The URL exists but not for this method (405): list it in methods=[...] on the route."


def status_of(text):
    """The HTTP status a failure reports the app answered with, or ''."""
    got = re.findall(r"\b(?:answered|got|returned|status(?: code)?|gave)\s+(?:with\s+)?(\d{3})\b", text)
    return got[-1] if got else ""


def hint_for(check, number):
    """The check's own hint, unless the failure is not the check's own: the app crashed or hung
    (whatever a check wants, the app must answer), or a route it needs is missing (the hint would
    be about a page that is not there)."""
    text = f"{check.reason}\n{check.details}".lower()
    status = status_of(text)
    if "time limit" in text or "did not finish" in text:
        return HANG
    if status == "500" or "raised at" in text:
        return CRASH
    if status == "404" and "not found" not in check.description:
        blueprint = " and that the blueprint is registered in create_app()" if is_package_stage(number) else ""
        return NO_ROUTE.format(blueprint=blueprint)
    if status == "405":
        return WRONG_METHOD
    return " ".join(check.doc.split())
