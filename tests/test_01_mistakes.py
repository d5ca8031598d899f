"""Stage 1: the mistakes its lesson note warns about, read from the submission's files."""
from support.mistakes import no_debugger_switched_on

STAGE = 1


def test_the_code_never_switches_the_debugger_on(stage_folder):
    no_debugger_switched_on(stage_folder)
