"""Each lesson note matches its lesson: its "What changed" section names exactly the files `make diff N`
changes, and the diff stays small enough to read as one lesson. (That it opens with its one concept:
tests/harness/test_course.py.)"""
import re

import pytest

from diff_stages import changed_lines, changes, stage_diff
from stages import COURSE, STAGES, stage_dir

# Changed non-blank lines of `make diff N` (course.toml's diff_budget): one concept's worth.
BUDGET = {n: stage.diff_budget for n, stage in COURSE.items() if n > 1}
# What a file of a lesson looks like in a note: app/routes.py, templates/chat.html, .env.example.
FILE_NAME = r"[\w.-]+(/[\w.-]+)*\.(py|html|css|js|txt|example)"


def note(number):
    return (stage_dir(number) / "README.md").read_text(encoding="utf-8")


def what_changed(number):
    """The text of the note's "## What changed" section."""
    found = re.search(r"^## What changed\b.*?$(.*?)(?=^## |\Z)", note(number), re.M | re.S)
    assert found, (
        f"{STAGES[number]}/README.md should have a section '## What changed since stage {number - 1}' "
        f"listing the files `make diff {number}` changes")
    return found.group(1)


@pytest.mark.parametrize("number", list(BUDGET))
def test_the_note_names_exactly_the_files_make_diff_changes(number):
    changed, moved, dropped = changes(number)
    changed = {str(path) for path in changed}
    shown = changed | {str(path) for pair in moved.items() for path in pair} | {str(path) for path in dropped}
    names = set(re.findall(r"`([^`\s]+)`", what_changed(number)))
    named = {name for name in names if name in shown or re.fullmatch(FILE_NAME, name)}
    by_name = {name.rsplit("/", 1)[-1]: name for name in changed}
    loose = {name for name in named - shown if name in by_name}
    problems = [f"not named: `{name}`" for name in sorted(changed - named)]
    problems += [f"named, but `make diff {number}` does not change it: `{name}`" for name in sorted(named - shown - loose)]
    problems += [f"`{name}` should be named by its path in the stage folder: `{by_name[name]}`" for name in sorted(loose)]
    assert not problems, (
        f"The 'What changed' section of {STAGES[number]}/README.md should name, in backquotes and by their "
        f"paths in the stage folder, exactly the files `make diff {number} --stat` lists: "
        f"{', '.join(sorted(changed))}. Fix the note (or the stage):\n  " + "\n  ".join(problems))


@pytest.mark.parametrize("number", list(BUDGET))
def test_the_diff_of_each_stage_stays_within_its_budget(number):
    size = changed_lines(stage_diff(number))
    assert size <= BUDGET[number], (
        f"`make diff {number}` changes {size} non-blank lines; a stage teaches one concept in at most "
        f"{BUDGET[number]}. Move what is not stage {number}'s concept out of its diff (to the stage that "
        f"teaches it, or leave it as it was), or make the code simpler.")
