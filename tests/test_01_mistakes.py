"""Stage 1: the mistakes its lesson note warns about, read from the submission's files."""
from support.mistakes import no_debugger_switched_on

STAGE = 1


def test_the_code_never_switches_the_debugger_on(stage_folder):
    """Turn the debugger on only when you start the server (flask run --debug); take app.run(debug=True), DEBUG
    = True, host="0.0.0.0" and FLASK_DEBUG=1 out of the files you hand in."""
    no_debugger_switched_on(stage_folder)
