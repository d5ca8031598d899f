"""`make watch N` (tools/watch.py): a student's copy checked again at every save.

These run the watcher on a copy of stage 3 in a temporary folder, save files in it as an editor
does, and read what the watcher prints as it comes (no sleeps: each step awaits its line).
"""
import ast
import re
import shutil
import sys
from pathlib import Path

from grading.checks import describe
from stages import ROOT, STAGES, not_copied, stage_dir
from support.servers import ChildServer
from watch import split

STAGE = 3
VERDICT_TIMEOUT = 90  # seconds for one run of stage 3's checks, on a busy 2-core machine
COUNT = re.compile(r"(\d+) of (\d+) checks passed")
# A mistake of the lessons' kind: every page that should be "404 Not Found" answers 200 instead.
NOT_FOUND_IS_200 = '''

@app.errorhandler(404)
def page_not_found_answers_200(error):
    return "Nothing here", 200
'''


class Watcher(ChildServer):
    """tools/watch.py on a folder, as `make watch 3 DIR=folder` runs it; ready once its first run starts."""

    ready = "Checking stage"
    name = "The watcher (make watch)"

    def __init__(self, number, folder):
        super().__init__({"PYTHONUNBUFFERED": "1"}, cwd=ROOT)
        self.number, self.folder = number, folder

    def command(self):
        return [sys.executable, str(ROOT / "tools" / "watch.py"), str(self.number), "--dir", str(self.folder)]

    def verdict(self, after):
        """(passed, total, the screen that line ends) of the first verdict from line `after` on; fails on timeout."""
        line = self.wait_for("checks passed", timeout=VERDICT_TIMEOUT, after=after)
        assert line, (f"After a save the watcher should show 'k of n checks passed' within {VERDICT_TIMEOUT} s; "
                      f"it printed:\n{self.output}")
        end = self.lines.index(line, after)
        self.wait_for("Save a file to check again", timeout=10, after=end)  # the rest of that screen
        screen = "".join(self.lines[end:])
        passed, total = map(int, COUNT.search(line).groups())
        return passed, total, screen


def hint_of(check_id):
    """The hint a check's docstring gives, in one line as the watcher shows it."""
    path, _, name = check_id.partition("::")
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    function = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name.split("[")[0])
    return " ".join(ast.get_docstring(function).split())


def copy_of_stage(tmp_path):
    folder = tmp_path / STAGES[STAGE]
    shutil.copytree(stage_dir(STAGE), folder, ignore=not_copied())
    return folder


def still_running_on(folder):
    """The processes whose command line names folder (the watcher's pytest runs pass it as --stage-dir)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(folder).encode() in cmdline.read_bytes():
                found.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue  # it ended while we looked
    return found


def test_make_watch_names_the_first_failing_check_with_why_and_hint_then_all_passed_once_fixed(tmp_path):
    folder = copy_of_stage(tmp_path)
    app = folder / "app.py"
    lesson = app.read_text(encoding="utf-8")
    app.write_text(lesson + NOT_FOUND_IS_200, encoding="utf-8")
    watcher = Watcher(STAGE, folder).start()
    try:
        passed, total, screen = watcher.verdict(after=0)
        assert 0 < passed < total, (
            f"A copy of stage {STAGE} whose 404 pages answer 200 should pass some checks and fail others, "
            f"got {passed} of {total}:\n{screen}")
        first = re.search(r"First failing check: (.+)\n\s+in: +(tests/test_\d\d_\w+\.py::\S+)\n\s+why: +(.+)\n(?:.*\n)*?\s+hint: +(.+)",
                          screen)
        assert first, ("The watcher should name the first failing check, where it is (in: tests/...::test_...), "
                       f"why it failed and a hint; it showed:\n{screen}")
        description, check_id, _why, hint = first.groups()
        assert description == describe(check_id.partition("::")[2]) and hint == hint_of(check_id), (
            f"The watcher should describe {check_id} by its name in words and give its docstring as the hint; "
            f"it showed:\n{screen}")
        seen = len(watcher.lines)
        app.write_text(lesson, encoding="utf-8")  # the fix, saved
        passed, total, screen = watcher.verdict(after=seen)
        assert passed == total and "all passed" in screen, (
            f"With the mistake fixed every check of stage {STAGE} passes, so the watcher should say "
            f"'{total} of {total} checks passed: all passed'; it showed:\n{screen}")
    finally:
        watcher.stop()


def test_make_watch_stays_up_through_a_syntax_error_and_ctrl_c_stops_it_and_its_run(tmp_path):
    folder = copy_of_stage(tmp_path)
    app = folder / "app.py"
    lesson = app.read_text(encoding="utf-8")
    app.write_text(lesson + "\nbroken = (\n", encoding="utf-8")
    watcher = Watcher(STAGE, folder).start()
    try:
        passed, total, screen = watcher.verdict(after=0)
        assert passed == 0 and "First failing check: the app loads" in screen and "SyntaxError" in screen, (
            "A syntax error in app.py should be the watcher's first failing check (the app loads), with the "
            f"SyntaxError as the reason, and no other check can pass; it showed:\n{screen}")
        seen = len(watcher.lines)
        app.write_text(lesson, encoding="utf-8")
        assert watcher.wait_for("Checking stage", timeout=VERDICT_TIMEOUT, after=seen), (
            f"After the syntax error the watcher should still be watching and check the next save:\n{watcher.output}")
        code = watcher.interrupt(timeout=20)  # Ctrl+C in the middle of that run
        assert code == 0 and "Stopped watching." in watcher.output, (
            f"Ctrl+C should stop the watcher cleanly (exit status 0, 'Stopped watching.'), got exit status {code}:\n"
            f"{watcher.output}")
        assert "Traceback" not in watcher.output, f"Ctrl+C should not print a traceback:\n{watcher.output}"
        left = still_running_on(folder)
        assert not left, f"After Ctrl+C the watcher's run of the checks still runs: {left}"
    finally:
        watcher.stop()


def test_a_split_run_gives_every_check_to_one_part_and_the_slowest_its_own():
    took = {"fifty_clients": 2.9, "settings": 0.3, "time_zones": 0.25, "page": 0.05, "form": 0.05, "log": 0.04}
    parts = split(took, 2)
    names = [name for part in parts for name in part]
    assert sorted(names) == sorted(took), f"Each check function should be in exactly one part: {parts}"
    assert ["fifty_clients"] in parts, (
        f"The slowest check (2.9 s) should run alone, beside all the others (0.69 s together): {parts}")
