"""course.toml holds true of the repo: each stage its record, and each record a stage with its
folder, its lesson note, its checks and its mutations (what a maintainer adds with a stage)."""
import re
import subprocess

import pytest

from stages import COURSE, COURSE_FILE, ROOT, STAGES, TESTS, is_package_stage, read_simple_toml, stage_dir, tomllib

CONCEPT = "**The concept:"


def test_the_stages_are_numbered_from_one_in_order_with_no_gap():
    numbers = list(COURSE)
    assert numbers == list(range(1, len(numbers) + 1)), (
        f"course.toml's [[stage]] records should be numbered 1, 2, 3, ... in order; they are {numbers}")


@pytest.mark.parametrize("number", list(STAGES))
def test_each_stage_has_its_folder_laid_out_as_its_record_says(number):
    stage = COURSE[number]
    folder = stage_dir(number)
    assert re.fullmatch(rf"{number:02d}_\w+", stage.folder) and folder.is_dir(), (
        f"course.toml: stage {number}'s folder should be a folder of the repo named {number:02d}_<name>; "
        f"it says {stage.folder!r}")
    assert stage.layout in ("module", "package"), (
        f"course.toml: stage {number}'s layout should be \"module\" (app.py) or \"package\" (app/); it is {stage.layout!r}")
    entry = folder / ("app/__init__.py" if is_package_stage(number) else "app.py")
    assert entry.is_file(), f"course.toml says stage {number} is laid out as a {stage.layout}, but {entry} is missing"
    assert (number == 1) == (stage.diff_budget is None), (
        f"course.toml: every stage after the first says how many lines `make diff` may change (diff_budget); "
        f"stage {number} says {stage.diff_budget!r}")


@pytest.mark.parametrize("number", list(STAGES))
def test_each_note_opens_by_naming_its_one_concept(number):
    first = (stage_dir(number) / "README.md").read_text(encoding="utf-8").split("\n\n", 2)[1]
    assert first.startswith(CONCEPT), (
        f"{STAGES[number]}/README.md should open (right after its title) with '{CONCEPT} ...**', the one "
        f"thing stage {number} adds; it opens with: {first[:120]!r}")


@pytest.mark.parametrize("number", list(STAGES))
def test_each_stage_has_its_test_module_and_its_mutations(number):
    modules = sorted(TESTS.glob(f"test_{number:02d}_*.py"))
    assert modules, f"Stage {number} should have its checks in tests/test_{number:02d}_<name>.py (with STAGE = {number})"
    mutations = TESTS / "mutations" / f"stage_{number:02d}.toml"
    assert mutations.is_file(), (
        f"Stage {number} should have its mutations, the mistakes its checks must catch, in {mutations.relative_to(ROOT)} "
        "(tests/mutations/README.md says how)")


def test_the_readme_lists_every_stage_in_its_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [f"| {n} | `{folder}/` |" for n, folder in STAGES.items() if f"| {n} | `{folder}/` |" not in readme]
    assert not missing, f"README.md's table of the stages should have a row for each stage; missing: {missing}"


def test_each_fetched_file_is_ignored_by_git_and_never_part_of_a_diff():
    from stages import NOT_IN_DIFF, fetched, left_out  # noqa: PLC0415 (only here)

    for number, item in fetched():
        path = f"{STAGES[number]}/{item.path.as_posix()}"
        ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "--no-index", path])
        assert ignored.returncode == 0, f".gitignore should keep {path} (fetched, never committed) out of git"
        assert left_out(item.path, NOT_IN_DIFF), f"`make diff {number}` should leave out the fetched {item.path}"
        assert re.fullmatch(r"(@[\w.-]+/)?[\w.-]+@[\w.]+", item.npm), (
            f"course.toml: stage {number} fetches {item.path} from {item.npm!r}; expected an npm package@version")


def test_each_command_a_stage_names_is_one_its_app_adds():
    for number, stage in COURSE.items():
        code = "\n".join(path.read_text(encoding="utf-8") for path in stage_dir(number).rglob("*.py"))
        for name in stage.commands:
            assert re.search(rf"command\(\s*[\"']{name}[\"']", code), (
                f"course.toml says stage {number}'s app has a `flask {name}` command, but its code defines none")


def test_course_toml_reads_the_same_before_a_toml_library_is_installed():
    text = COURSE_FILE.read_text(encoding="utf-8")
    assert read_simple_toml(text) == tomllib.loads(text), (
        "The Makefile reads course.toml with the system's python3, which on Python 3.10 has no TOML library: "
        "keep course.toml to the forms tools/stages.py's read_simple_toml reads ([[stage]], [[stage.fetch]], "
        "comment lines, `key = value` with a string, a number or a list of strings)")
