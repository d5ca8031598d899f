"""Show what stage N adds to stage N-1: its code, templates and static files.

    python tools/diff_stages.py 4            # 03_params -> 04_forms
    python tools/diff_stages.py 4 --stat     # just the list of changed files

The lesson's notes (every Markdown file), local configuration, logs, caches and
fetched libraries are left out, so the diff reads as the lesson. A file the stage moves
is shown as the change it makes: when stage 5 turns app.py into the app/ package,
app.py is compared with app/__init__.py and templates/x.html with
app/templates/x.html. Files a stage drops are named in one line, not shown.
Coloured on a terminal, plain when piped.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from stages import NOT_IN_DIFF, STAGES, entry_file, left_out, stage_argument, stage_dir


def lesson_files(folder):
    """The stage's files that make its lesson, as paths relative to folder."""
    return {path.relative_to(folder) for path in folder.rglob("*")
            if path.is_file() and not left_out(path.relative_to(folder), NOT_IN_DIFF)}


def moves(number, before, after):
    """{old path: new path} for the files stage `number` moves (app.py into the app/ package)."""
    paired = {}
    old_entry, new_entry = entry_file(number - 1), entry_file(number)
    for path in sorted(before - after):
        if path == old_entry and new_entry != old_entry and new_entry in after:
            paired[path] = new_entry
        elif Path("app", path) in after - before:
            paired[path] = Path("app", path)
    return paired


def changes(number):
    """What stage `number` does to stage number-1's files, as paths relative to the stage folders:
    (the files it adds or changes, by their new paths; {old: new} for the files it moves, changed
    or not; the files it drops), as `make diff N --stat` names them."""
    before_dir, after_dir = stage_dir(number - 1), stage_dir(number)
    before, after = lesson_files(before_dir), lesson_files(after_dir)
    paired = moves(number, before, after)
    pairs = [(path, path) for path in before & after] + list(paired.items())
    same = {new for old, new in pairs if (before_dir / old).read_bytes() == (after_dir / new).read_bytes()}
    return sorted(after - same), paired, sorted(before - after - set(paired))


LESSON_CODE = (".py", ".html", ".css", ".js")  # a lesson's size counts its code, templates, CSS and JS


def changed_lines(diff):
    """How many lines of code, templates, CSS and JS a diff adds or removes, blank ones left out:
    a lesson's size. Its settings (requirements.txt, .env.example) are not counted."""
    counted, total = False, 0
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            counted = line.endswith(LESSON_CODE)
        elif counted and line[:1] in "+-" and not line.startswith(("+++", "---")) and line[1:].strip():
            total += 1
    return total


def copy(files, source, target):
    for relative in files:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, target / relative)


def git_diff(*args, cwd, colour, stat):
    command = ["git", "-c", "core.quotepath=off", "diff", "--no-index", f"--color={colour}",
               "--stat" if stat else "--patch", *args]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode not in (0, 1):  # 1 means "they differ"
        raise RuntimeError(result.stderr)
    return result.stdout


SUMMARY = re.compile(r"^ (\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?$", re.M)


def one_summary(stats):
    """Several `git diff --stat` outputs as one list with one summary line."""
    files = added = removed = 0
    for found in SUMMARY.finditer("".join(stats)):
        files, added, removed = (total + int(n or 0) for total, n in zip((files, added, removed), found.groups()))
    lines = SUMMARY.sub("", "".join(stats)).replace("\n\n", "\n")
    return f"{lines} {files} files changed, {added} insertions(+), {removed} deletions(-)\n"


def show(text):
    """Write text, through git's pager on a terminal (as a plain git diff would be)."""
    if not sys.stdout.isatty():
        sys.stdout.write(text)
        return
    pager = subprocess.run(["git", "var", "GIT_PAGER"], capture_output=True, text=True).stdout.strip()
    if pager in ("", "cat"):
        sys.stdout.write(text)
        return
    env = {"LESS": "FRX", "LV": "-c", **os.environ}
    subprocess.run(pager, shell=True, input=text, text=True, env=env)


def stage_diff(number, stat=False, colour="never"):
    """The text of `make diff N`."""
    before_name, after_name = STAGES[number - 1], STAGES[number]
    before_dir, after_dir = stage_dir(number - 1), stage_dir(number)
    before, after = lesson_files(before_dir), lesson_files(after_dir)
    paired = moves(number, before, after)
    dropped = sorted(before - after - set(paired))
    parts, unchanged = [], []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        # Moved files first, one diff each: the move reads as the change it makes.
        for old, new in paired.items():
            copy([old], before_dir, scratch / before_name)
            copy([new], after_dir, scratch / after_name)
            shown = git_diff(f"{before_name}/{old}", f"{after_name}/{new}", cwd=scratch, colour=colour, stat=stat)
            if shown:
                parts.append(shown)
            else:
                unchanged.append(f"{old} -> {new}")
        rest = scratch / "rest"
        copy(before & after, before_dir, rest / before_name)
        copy((before & after) | (after - before - set(paired.values())), after_dir, rest / after_name)
        (rest / before_name).mkdir(parents=True, exist_ok=True)
        (rest / after_name).mkdir(parents=True, exist_ok=True)
        parts.append(git_diff(before_name, after_name, cwd=rest, colour=colour, stat=stat))
    if stat:
        parts = [one_summary(parts)]
    if unchanged:
        parts.append(f"Moved as they are: {', '.join(unchanged)}\n")
    if dropped:
        names = ", ".join(str(path) for path in dropped)
        parts.append(f"Stage {number} no longer has these files of {before_name} (not shown): {names}\n")
    return "".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", type=stage_argument)
    parser.add_argument("--stat", action="store_true", help="list the changed files only")
    args = parser.parse_args(argv)
    if args.stage == 1:
        parser.exit(2, "Stage 1 is where the course starts: there is nothing before it to compare.\n")
    colour = "always" if sys.stdout.isatty() else "never"
    show(stage_diff(args.stage, stat=args.stat, colour=colour))
    return 0


if __name__ == "__main__":
    sys.exit(main())
