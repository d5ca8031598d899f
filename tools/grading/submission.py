"""Which folder is graded, whether it is laid out as the stage expects, and its private copy."""
import errno
import fnmatch
import os
import shutil
import stat
from pathlib import Path

from stages import NOT_COPIED, ROOT, STAGES, fetched, is_package_stage, layout_name, layout_stages, stage_dir

EXERCISES = ROOT / "exercises"
MAX_FILES = 5000       # files a submission's copy may hold
MAX_BYTES = 50 << 20   # and bytes


class GradingError(Exception):
    """The grader cannot grade (exit status 2): no folder, no checks, a broken suite."""


def choose_folder(number, folder=None, exercises=EXERCISES):
    """(folder, how it was chosen) for stage N: --dir, else the exercise copy, else the repo's."""
    name = STAGES[number]
    if folder is not None:
        return Path(os.path.abspath(Path(folder).expanduser())), "the folder you gave"
    exercise = Path(exercises) / name
    if exercise.is_dir():
        return exercise.resolve(), "your exercise copy (no DIR given)"
    return stage_dir(number), f"the repo's own stage (no DIR given, and no exercises/{name} yet)"


def layout_problem(folder, number):
    """None when the folder has something `flask --app app run` can load; else what is expected."""
    if (folder / "app.py").is_file() or (folder / "app" / "__init__.py").is_file():
        return None
    found = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                   if not p.name.startswith("."))
    lines = [f"Stage {number} expects {layout_name(number)} directly in the folder: every "
             "stage runs with `flask --app app run`, and the checks load it the same way."]
    if (folder / "main.py").is_file():
        lines.append("This folder has main.py instead: its code goes into app/__init__.py "
                     "(create_app) and app/routes.py (a Blueprint), as the lesson shows."
                     if is_package_stage(number) else
                     "This folder has main.py instead: rename it to app.py and keep the Flask "
                     "object in a variable called `app`.")
    elif (folder / "app").is_dir():
        lines.append("This folder has an app/ folder without __init__.py: add app/__init__.py.")
    nested = [p for p in folder.iterdir() if p.is_dir()
              and ((p / "app.py").is_file() or (p / "app" / "__init__.py").is_file())]
    if nested:
        lines.append(f"The stage seems to be one level down, in {nested[0].name}/: grade that "
                     f"folder instead (DIR={folder / nested[0].name}).")
    lines.append("Found: " + (", ".join(found[:12]) + (" ..." if len(found) > 12 else "")
                              if found else "an empty folder") + ".")
    return "\n".join(lines)


def layout_note(copy, number):
    """A note when the folder loads but has the other layout (app.py vs app/ package)."""
    flat, package = (copy / "app.py").is_file(), (copy / "app" / "__init__.py").is_file()
    if is_package_stage(number) and flat and not package:
        return (f"Stage {number} expects an app/ package (app/__init__.py with create_app()); "
                f"this folder has app.py, the layout of {layout_stages(package=False)}.")
    if not is_package_stage(number) and package and not flat:
        return (f"Stage {number} expects app.py; this folder has an app/ package, the layout of "
                f"{layout_stages(package=True)}.")
    return None


def _ignored(name):
    return any(fnmatch.fnmatch(name, pattern) for pattern in NOT_COPIED)


def _inside(target, root):
    return target == root or target.startswith(root + os.sep)


def make_copy(folder, number, work):
    """Copy folder into work (the student's own is never touched); (copy, notes, problem).

    The copy holds regular files and folders only, at most MAX_FILES files and MAX_BYTES bytes
    (GradingError past that, as for a folder that cannot be read or a symlink loop). A symlink to
    a file inside the folder is copied as that file; one to a folder is left out, with a note.
    Symlinks that leave the folder (or point nowhere) are not copied, and make `problem` (no
    marks): a link to the repo's own solution must not grade as the student's work.
    """
    folder = Path(folder)
    copy = Path(work) / STAGES[number]
    root = os.path.realpath(folder)
    escaping, folder_links, odd = [], [], []
    files = size = 0

    def unreadable(error):
        raise GradingError(f"Could not read {error.filename} in the folder: {error.strerror}.")

    try:
        for parent, dirs, names in os.walk(folder, onerror=unreadable):
            here = Path(parent)
            relative = here.relative_to(folder)
            (copy / relative).mkdir(parents=True, exist_ok=True)
            for name in list(dirs):
                if _ignored(name) or (here / name).is_symlink():
                    dirs.remove(name)
                    if not _ignored(name):
                        names.append(name)  # a link to a folder: judged with the other links below
            for name in sorted(names):
                path, shown = here / name, str(relative / name)
                if _ignored(name):
                    continue
                source = path
                if path.is_symlink():
                    try:
                        os.stat(path)
                    except OSError as error:
                        if error.errno == errno.ELOOP:
                            raise GradingError(f"The folder has a symbolic link loop at {shown}: remove the link.") from None
                        escaping.append(shown)  # points nowhere
                        continue
                    target = os.path.realpath(path)
                    if not _inside(target, root):
                        escaping.append(shown)
                        continue
                    if os.path.isdir(target):
                        folder_links.append(shown)
                        continue
                    source = Path(target)
                if not stat.S_ISREG(os.stat(source).st_mode):
                    odd.append(shown)
                    continue
                files += 1
                size += os.stat(source).st_size
                if files > MAX_FILES:
                    raise GradingError(f"The folder has more than {MAX_FILES} files: hand in the stage's own "
                                       "code, without virtualenvs, downloads or generated files.")
                if size > MAX_BYTES:
                    raise GradingError(f"The folder holds more than {MAX_BYTES >> 20} MB: hand in the stage's own "
                                       "code, without virtualenvs, downloads or generated files.")
                shutil.copyfile(source, copy / relative / name, follow_symlinks=True)
    except OSError as error:
        unreadable(error)
    problem = None
    if escaping:
        problem = ("The folder has symbolic links that point outside it, so that code is not "
                   f"the submission's own; they were not copied: {', '.join(sorted(escaping)[:8])}"
                   + (" ..." if len(escaping) > 8 else "") + ". Submit real files.")
    notes = []
    if folder_links:
        notes.append(f"Symbolic links to folders were not copied: {', '.join(sorted(folder_links)[:8])}. "
                     "Submit real folders.")
    if odd:
        notes.append(f"Files that are not regular files (pipes, sockets, devices) were not copied: "
                     f"{', '.join(sorted(odd)[:8])}.")
    # Fetched at setup, not committed: a submission may lack it, and gets the repo's copy.
    for _, item in fetched(number):
        vendor = item.path
        if not (copy / vendor.parts[0]).is_dir() or (copy / vendor).is_file() or (copy / vendor).is_symlink():
            continue
        ours = stage_dir(number) / vendor
        if ours.is_file():
            (copy / vendor).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ours, copy / vendor)
            notes.append(f"Your folder has no {vendor} (it is fetched at setup, not committed); "
                         "the grader used the repo's copy.")
        else:
            notes.append(f"Neither your folder nor the repo has {vendor}: run `make setup` "
                         "first, or the browser checks will fail.")
    return copy, notes, problem
