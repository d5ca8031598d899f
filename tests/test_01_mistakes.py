"""Stage 1: the mistakes its lesson note warns about, read from the submission's files."""
from support.mistakes import debugger_switches

STAGE = 1


def test_the_code_never_switches_the_debugger_on(stage_folder):
    found = debugger_switches(stage_folder)
    assert not found, (
        "The debugger runs any Python a visitor types into an error page: it is for your own machine only, "
        "turned on when you start the server (flask run --debug, make stage N), never in the code or a "
        "committed settings file, and the development server never listens on 0.0.0.0. Found:\n  "
        + "\n  ".join(found)
    )
