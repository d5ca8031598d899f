"""Grading a class (`make grade-all`), the platforms (`make gradescope`) and exit statuses through make."""
import csv
import html
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from stages import ROOT, STAGES, check_functions, stage_dir
from stages import test_files as stage_test_files

GRADE = ROOT / "tools" / "grade.py"
GRADE_ALL = ROOT / "tools" / "grade_all.py"

pytestmark = pytest.mark.timeout(300)

# Folder names a shell would run or mangle; none may be run, and each gets its own row.
# (Several tricks a name, so that the class stays small: each submission is a real grading.)
HOSTILE_NAMES = ["with space, quote'\"s, dollar$HOME, back`touch pwned-tick`tick and $(touch pwned-subshell)",
                 "=HYPERLINK(\"x\") ünïcödé 名前 <img src=x onerror=alert(1)>"]


def stage_checks(number, browser=True):
    """The names of stage N's checks, as the grader lists them (one per test function)."""
    return [name for path in stage_test_files(number, browser) for name in check_functions(path, number)]


def env():
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("FLASK_", "PYTEST_")) and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def stage_1(where, change=None):
    shutil.copytree(stage_dir(1), where, ignore=shutil.ignore_patterns("__pycache__"))
    if change:
        app = Path(where) / "app.py"
        app.write_text(change(app.read_text(encoding="utf-8")), encoding="utf-8")
    return where


# These grade stage 1 with its browser check, which drives Chromium: `make test-fast` leaves them out.
GRADES_WITH_THE_BROWSER = pytest.mark.browser


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    submissions, out = tmp / "submissions", tmp / "out"
    submissions.mkdir()
    for name in HOSTILE_NAMES:
        stage_1(submissions / name)
    stage_1(submissions / "no-greeting", lambda text: text.replace("Hello, Flask!", "TODO"))
    stage_1(submissions / "hangs", lambda text: text + "\nimport time\ntime.sleep(600)\n")
    (submissions / "empty").mkdir()
    ran = subprocess.run([sys.executable, str(GRADE_ALL), "1", "--submissions", str(submissions), "--out", str(out),
                          "--jobs", "2", "--time-limit", "40", "--import-timeout", "5"],
                         capture_output=True, text=True, cwd=tmp, env=env(), timeout=280)
    with open(out / "grades.csv", encoding="utf-8", newline="") as book:
        rows = list(csv.DictReader(book))
    return {"ran": ran, "out": out, "tmp": tmp, "rows": rows, "submissions": submissions}


@GRADES_WITH_THE_BROWSER
def test_every_folder_gets_one_row_and_no_name_is_run_by_a_shell(graded_class):
    ran, rows = graded_class["ran"], graded_class["rows"]
    assert ran.returncode == 0, ran.stdout + ran.stderr
    names = [row["submission"].removeprefix("'") for row in rows]
    assert sorted(names) == sorted(HOSTILE_NAMES + ["no-greeting", "hangs", "empty"]), names
    for folder in (graded_class["tmp"], ROOT, graded_class["submissions"]):
        assert not list(Path(folder).glob("pwned*")), "A folder's name was run as a shell command"
    formula = next(r for r in rows if "HYPERLINK" in r["submission"])
    assert formula["submission"].startswith("'="), "A name starting with = must not become a spreadsheet formula"


@GRADES_WITH_THE_BROWSER
def test_each_row_has_the_score_and_each_checks_status(graded_class):
    rows = {row["submission"].removeprefix("'"): row for row in graded_class["rows"]}
    full = rows[HOSTILE_NAMES[0]]
    assert full["score"] == full["total"] == str(len(stage_checks(1)) + 1), full  # + "the app loads"
    assert rows["no-greeting"]["test_home_page_says_hello"] == "fail"
    assert rows["no-greeting"]["test_a_page_with_no_route_is_not_found"] == "pass"
    assert rows["empty"]["the_app_loads"] == "fail" and rows["empty"]["score"] == "0"
    assert all(row["isolated"] == "yes" for row in rows.values()), rows


@GRADES_WITH_THE_BROWSER
def test_a_hang_costs_that_submission_alone(graded_class):
    rows = {row["submission"].removeprefix("'"): row for row in graded_class["rows"]}
    assert rows["hangs"]["the_app_loads"] == "fail" and rows["hangs"]["score"] == "0", rows["hangs"]
    verdict = json.loads((graded_class["out"] / "submissions" / "hangs" / "verdict.json").read_text(encoding="utf-8"))
    assert "did not finish importing" in verdict["checks"][0]["reason"]


@GRADES_WITH_THE_BROWSER
def test_each_submission_has_its_own_verdict_report_and_screenshots(graded_class):
    out = graded_class["out"]
    for name in HOSTILE_NAMES:
        folder = out / "submissions" / name
        verdict = json.loads((folder / "verdict.json").read_text(encoding="utf-8"))
        assert verdict["ok"] is True and verdict["graded"].endswith(name), verdict
        assert (folder / "report.txt").is_file() and (folder / "junit.xml").is_file()
    shots = out / "submissions" / "no-greeting" / "browser"
    assert any(shots.rglob("*.png")), "A failing browser check's screenshot belongs to its submission's folder"
    pages = [path.name for path in shots.rglob("*") if path.suffix in (".html", ".htm")]
    assert not pages and any(shots.rglob("*.html.txt")), (
        f"A saved page is the app's, scripts and all: it should be kept as .html.txt, never as a page to open: {pages}")


@GRADES_WITH_THE_BROWSER
def test_the_summary_page_escapes_every_name_and_links_each_report(graded_class):
    page = (graded_class["out"] / "index.html").read_text(encoding="utf-8")
    assert "<img src=x" not in page and html.escape("<img src=x onerror=alert(1)>") in page
    assert page.count('/report.txt">report</a>') == len(graded_class["rows"])
    assert "test_home_page_says_hello" in page and f"of {len(HOSTILE_NAMES) + 3}" in page  # pass rates across the class


@GRADES_WITH_THE_BROWSER
def test_make_grade_keeps_the_graders_exit_status(tmp_path):
    make = ["make", "-s", "--no-print-directory", "grade", "1"]
    no_greeting = stage_1(tmp_path / "no-greeting", lambda text: text.replace("Hello, Flask!", "TODO"))
    running = {}
    for case, args in {"passes": [], "fails": [f"DIR={no_greeting}"], "cannot": [f"DIR={tmp_path / 'nowhere'}"]}.items():
        status = tmp_path / f"{case}.status"
        running[case] = (status, subprocess.Popen([*make, *args, f"STATUS={status}"], stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL, cwd=ROOT, env=env()))
    statuses = {case: (make_run.wait(timeout=200), status.read_text().strip())
                for case, (status, make_run) in running.items()}
    assert statuses == {"passes": (0, "0"), "fails": (2, "1"), "cannot": (2, "2")}, statuses


def test_make_grade_all_grades_a_class_as_the_readme_says(tmp_path):
    submissions, out = tmp_path / "class", tmp_path / "grades"
    (submissions / "nothing handed in").mkdir(parents=True)
    ran = subprocess.run(["make", "-s", "--no-print-directory", "grade-all", "1", f"SUBMISSIONS={submissions}",
                          f"OUT={out}"], capture_output=True, text=True, cwd=ROOT, env=env(), timeout=200)
    assert ran.returncode == 0, f"`make grade-all 1 SUBMISSIONS=... OUT=...` failed:\n{ran.stdout}{ran.stderr}"
    with open(out / "grades.csv", encoding="utf-8", newline="") as book:
        rows = list(csv.DictReader(book))
    assert [(row["submission"], row["score"]) for row in rows] == [("nothing handed in", "0")], rows


def test_gradescope_zip_has_the_autograder_and_no_lesson_code(tmp_path):
    ran = subprocess.run([sys.executable, str(ROOT / "tools" / "grading" / "gradescope.py"), "4", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    with zipfile.ZipFile(tmp_path / f"gradescope-{STAGES[4]}.zip") as archive:
        names = archive.namelist()
        for script in ("setup.sh", "run_autograder"):
            mode = archive.getinfo(script).external_attr >> 16
            assert mode & stat.S_IXUSR, f"{script} must be executable"
        run = archive.read("run_autograder").decode()
    assert "/autograder/results/results.json" in run and "tools/grade.py 4" in run
    assert "tests/test_04_forms.py" in names and "tools/grade.py" in names
    lesson = [n for n in names if n.split("/", 1)[0] in STAGES.values()
              and not n.endswith(("requirements.txt", "socket.io.min.js"))]
    assert not lesson, f"The autograder must not ship the lessons' solutions: {lesson}"


def test_gradescope_results_have_a_score_and_one_test_per_check(tmp_path):
    folder = stage_1(tmp_path / "student", lambda text: text.replace("Hello, Flask!", "TODO"))
    results = tmp_path / "results.json"
    ran = subprocess.run([sys.executable, str(GRADE), "1", "--dir", str(tmp_path), "--descend", "--no-browser",
                          "--gradescope", str(results)], capture_output=True, text=True, env=env(), timeout=120)
    assert ran.returncode == 1 and str(folder) in ran.stdout, ran.stdout + ran.stderr
    data = json.loads(results.read_text(encoding="utf-8"))
    checks = len(stage_checks(1, browser=False)) + 1  # + "the app loads"
    assert data["max_score"] == len(data["tests"]) == checks and data["score"] == checks - 1, data
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert len(failed) == 1 and "Hint:" in failed[0]["output"] and failed[0]["name"], failed
    missing = subprocess.run([sys.executable, str(GRADE), "1", "--dir", str(tmp_path / "none"),
                              "--gradescope", str(results)], capture_output=True, text=True, env=env(), timeout=60)
    assert missing.returncode == 2 and json.loads(results.read_text())["score"] == 0


@GRADES_WITH_THE_BROWSER
def test_two_gradings_at_once_keep_their_screenshots_apart(tmp_path):
    runs = []
    for name in ("first", "second"):
        folder = stage_1(tmp_path / name, lambda text: text.replace("Hello, Flask!", "TODO"))
        report = tmp_path / f"{name}.json"
        runs.append((report, subprocess.Popen(
            [sys.executable, str(GRADE), "1", "--dir", str(folder), "--json", str(report),
             "--only", "test_the_browser_shows_the_greeting"], env=env(), stdout=subprocess.DEVNULL)))
    folders = []
    for report, process in runs:
        assert process.wait(timeout=200) == 1
        notes = json.loads(report.read_text(encoding="utf-8"))["notes"]
        where = [Path(n.split(": ", 1)[1]) for n in notes if "screenshots" in n]
        assert where and any(where[0].rglob("*.png")), notes
        folders.append(where[0])
    try:
        assert folders[0] != folders[1], "Two gradings at once must not share a screenshots folder"
    finally:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def autograder_zip(number, where):
    """Gradescope's autograder for stage N, unzipped as Gradescope does into where/source (scripts executable)."""
    built = subprocess.run([sys.executable, str(ROOT / "tools" / "grading" / "gradescope.py"), str(number), str(where)],
                           capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    source = where / "source"
    with zipfile.ZipFile(where / f"gradescope-{STAGES[number]}.zip") as archive:
        for info in archive.infolist():
            archive.extract(info, source)
            if info.external_attr >> 16 & stat.S_IXUSR:
                (source / info.filename).chmod(0o755)
    return source


def test_gradescope_setup_installs_redis_nginx_bubblewrap_and_playwrights_chromium(tmp_path):
    setup = (autograder_zip(7, tmp_path) / "setup.sh").read_text(encoding="utf-8")
    install = next((line for line in setup.splitlines() if line.startswith("apt-get install")), "")
    for package in ("bubblewrap", "redis-server", "nginx", "python3-venv", "make"):
        assert package in install.split(), f"setup.sh should apt-get install {package}: {install!r}"
    assert "chromium" not in install, f"Ubuntu has no chromium package (a snap): setup.sh must not ask apt for it: {install!r}"
    playwright = setup.find("playwright install --with-deps chromium")
    assert 0 <= playwright < setup.rfind("\nmake browser"), (
        "setup.sh should install Playwright's Chromium with its libraries before `make browser` looks for a browser")


@pytest.mark.parametrize("release", ["22.04", "24.04"])
def test_make_browser_on_ubuntu_never_asks_apt_for_a_chromium(tmp_path, release):
    os_release = tmp_path / "os-release"
    os_release.write_text(f'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="{release}"\n', encoding="utf-8")
    # The real install_browser.py, in a sandbox whose /etc/os-release is Ubuntu's, planning only.
    ran = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--ro-bind", str(os_release), "/etc/os-release",
                          "--ro-bind", str(os_release), "/usr/lib/os-release", "--dev", "/dev", "--proc", "/proc",
                          "--", sys.executable, str(ROOT / "tools" / "install_browser.py"), "--dry-run", "--ignore-system"],
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "apt-get" not in ran.stdout and "playwright install chromium" in ran.stdout, (
        f"On Ubuntu {release}, with no Chromium, `make browser` should plan Playwright's Chromium and never apt-get: "
        f"{ran.stdout}")


def test_gradescope_run_autograder_grades_a_submission_in_an_autograder_layout(tmp_path):
    autograder = tmp_path / "autograder"
    source = autograder_zip(1, autograder)
    (source / ".venv").symlink_to(ROOT / ".venv")  # what setup.sh's `make setup` makes
    stage_1(autograder / "submission" / "my-upload")  # a zipped folder: the stage one level down
    ran = subprocess.run(["bash", str(source / "run_autograder")], capture_output=True, text=True, timeout=280,
                         env={**env(), "AUTOGRADER": str(autograder)})
    assert ran.returncode == 0, ran.stdout + ran.stderr
    results = json.loads((autograder / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["max_score"] == len(stage_checks(1)) + 1 and results["score"] == results["max_score"], (
        f"The repo's stage 1, uploaded, should get full marks:\n{json.dumps(results, indent=1)}\n{ran.stdout}{ran.stderr}")


def test_every_gradebook_cell_a_spreadsheet_would_run_is_plain_text():
    from grading.batch import gradebook  # noqa: PLC0415 (the grader's own gradebook)
    hostile = ["=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)", "\tcmd", "\rcmd"]
    verdict = {"passed": 1, "total": 2, "isolated": True,
               "checks": [{"name": name, "status": name} for name in hostile]}
    rows = [{"name": name, "verdict": verdict, "error": ""} for name in hostile]
    rows.append({"name": "broken", "verdict": None, "error": "=cmd"})
    cells = [cell for row in csv.reader(io.StringIO(gradebook(rows))) for cell in row]
    live = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert not live, f"These gradebook cells would be formulas in a spreadsheet: {live}"
