"""Stage 1: the mistakes its lesson note warns about, read from the submission's files."""
from support.mistakes import no_debugger_switched_on

STAGE = 1


def test_the_code_never_switches_the_debugger_on(stage_folder):
    """Look through the files you hand in for app.run(debug=True), DEBUG = True, FLASK_DEBUG=1 or
    host="0.0.0.0": the debugger belongs to `flask run --debug` on your own machine."""
    no_debugger_switched_on(stage_folder)
