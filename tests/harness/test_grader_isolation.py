"""No submission can change the grader, another grading, or outlive its own grading.

Each attack is a copy of stage 1 whose app.py does something hostile at import time (and
still builds its app, so that its checks run). The module grades a submission that did no
work, then every attack, then the no-work one again, hashing the checkout's tracked files
and listing .venv before and after. Needs bubblewrap (`make sandbox`); where the grader
cannot isolate, the last test proves it says so plainly instead.
"""
import hashlib
import re
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grading.sandbox import detect
from stages import ROOT, stage_dir

GRADE = ROOT / "tools" / "grade.py"
VENV = Path(sys.prefix)
BOUND = 120

pytestmark = [
    pytest.mark.timeout(BOUND * 12),
    pytest.mark.skipif(sys.platform != "linux", reason="the sandbox is Linux's (bubblewrap)"),
]


def tracked_files_hash():
    names = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                           check=True).stdout.split(b"\0")
    digest = hashlib.sha256()
    for name in filter(None, names):
        path = ROOT / os.fsdecode(name)
        digest.update(name + b"\0")
        digest.update(path.read_bytes() if path.is_file() and not path.is_symlink() else b"<none>")
    return digest.hexdigest()


def venv_listing():
    """Every file of .venv with its size and time; not the bytecode caches and make's stamps,
    which the suite's own processes (make, Python imports) may write meanwhile."""
    listing = {}
    for folder, dirs, files in os.walk(VENV):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if Path(folder) == VENV and name.startswith("."):
                continue
            path = Path(folder, name)
            stat = path.lstat()
            listing[str(path.relative_to(VENV))] = (stat.st_size, stat.st_mtime_ns)
    return listing


def stage_1_copy(where, extra=""):
    folder = Path(where)
    shutil.copytree(stage_dir(1), folder, ignore=shutil.ignore_patterns("__pycache__"))
    if extra:
        with open(folder / "app.py", "a", encoding="utf-8") as app:
            app.write("\n" + extra)
    return folder


def no_work(where, extra=""):
    """A student who never got the greeting right (one check fails), plus extra code at import
    (which may greet: only the student's own greeting is taken out)."""
    folder = stage_1_copy(where)
    app = folder / "app.py"
    app.write_text(app.read_text(encoding="utf-8").replace("Hello, Flask!", "TODO") + "\n" + extra, encoding="utf-8")
    return folder


# In the grader's environment: no graded app may see it.
CANARY = ("FLASK_STAGES_GRADER_CANARY", "the-graders-own-variable")


def grade(folder, workdir, *args, stage=1, sandbox=None):
    report = Path(workdir) / "verdict.json"
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PYTEST_", "GRADE_"))}
    if sandbox:
        env["GRADE_SANDBOX"] = sandbox
    ran = subprocess.run([sys.executable, str(GRADE), str(stage), "--dir", str(folder), "--json", str(report),
                          "--junit", str(Path(workdir) / "junit.xml"), "--no-browser", *args],
                         capture_output=True, text=True, timeout=BOUND, env={**env, CANARY[0]: CANARY[1]}, cwd=ROOT)
    verdict = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {}
    return ran, verdict, report, time.monotonic() - started


def attempt(code):
    """Code that tries something and carries on whatever happens (the app must still load)."""
    return "try:\n" + "".join(f"    {line}\n" for line in code.strip().splitlines()) + "except Exception:\n    pass\n"


# Finds the grader's record of the checks (pytest's --grade-record, on a command line in /proc)
# and writes a pass for every check of stage 1 into it, then "finished".
FORGE = f"""
import os, re, sys, json
def forge():
    names = re.findall(r"^def (test_\\w+)", open({str(ROOT / "tests" / "test_01_hello.py")!r}).read(), re.M)
    for entry in os.listdir("/proc"):
        try:
            args = open(f"/proc/{{entry}}/cmdline", "rb").read().split(b"\\0")
            path = args[args.index(b"--grade-record") + 1].decode()
            with open(path, "a") as record:
                for name in names:
                    check = "tests/test_01_hello.py::" + name
                    for when in ("setup", "call", "teardown"):
                        record.write(json.dumps({{"event": "report", "id": check, "when": when,
                                                 "outcome": "passed"}}) + "\\n")
                record.write(json.dumps({{"event": "finished", "exitstatus": 0}}) + "\\n")
        except (OSError, ValueError, IndexError):
            pass
"""


# Each greets (the one check it is graded on, test_home_page_says_hello) only when one thing it can
# see says it is being checked rather than served by `flask --app app run`.
GREETING = """
    @app.before_request
    def greet():
        return "<h1>Hello, Flask!</h1>"
"""
TELLS = {
    # Settings no student's .env holds: TESTING, or any other change to the config Flask starts with.
    "greets-only-under-test-settings": """
from flask import Flask
@app.before_request
def greet():
    if app.testing or dict(app.config) != dict(Flask(__name__).config):
        return "<h1>Hello, Flask!</h1>"
""",
    # A process not started by flask's command: its __main__, argv or Python's own command line.
    "greets-only-when-not-run-by-flask": """
import os, sys
import flask.cli
script = os.path.join(os.path.dirname(sys.executable), "flask")
main = sys.modules.get("__main__")
if (getattr(main, "__file__", None) != script or getattr(main, "main", None) is not flask.cli.main
        or sys.argv != [script, "--app", "app", "run"] or sys.orig_argv[1:] != sys.argv):
""" + GREETING,
    # An import path or modules that `flask run` would not have: the grader's own.
    "greets-only-when-its-imports-are-not-flasks": """
import os, sys
here = os.path.dirname(os.path.abspath(__file__))
ours = [here, os.path.dirname(sys.executable)]
foreign = [p for p in sys.path if p not in ours and not p.startswith((sys.prefix, sys.base_prefix))]
if foreign or {"loader", "stages", "grading", "pytest", "_pytest"} & set(sys.modules):
""" + GREETING,
}


def attacks(tmp, other_output, outside, root_only):
    marker = f"flask-stages-survivor-{os.getpid()}-{time.monotonic_ns()}"
    site = next(Path(p) for p in sys.path if p.startswith(str(VENV)) and p.endswith("site-packages"))
    return marker, {
        "edits-tools-and-tests": attempt(f"""
for target in {[str(ROOT / "tools" / "grade_plugin.py"), str(ROOT / "tests" / "conftest.py"),
                str(ROOT / "tools" / "grading" / "checks.py")]!r}:
    with open(target, "a") as f:
        f.write("\\nraise SystemExit('hijacked')\\n")
"""),
        "drops-a-pth-into-the-venv": attempt(f"""
with open({str(site / "zz_hijack.pth")!r}, "w") as f:
    f.write("import os; os.environ['HIJACKED'] = '1'\\n")
"""),
        "writes-another-submissions-output": attempt(f"""
with open({str(other_output)!r}, "w") as f:
    f.write('{{"ok": true, "passed": 99}}')
"""),
        "imports-the-repos-solution": attempt(f"""
import importlib.util
spec = importlib.util.spec_from_file_location("solution", {str(stage_dir(1) / "app.py")!r})
solution = importlib.util.module_from_spec(spec)
spec.loader.exec_module(solution)
app = solution.app
"""),
        "detached-child-rewrites-the-json": attempt(f"""
import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", '''
import glob, json, sys, time
for _ in range(300):
    for path in glob.glob(sys.argv[2] + "/*/verdict.json"):
        try:
            open(path, "w").write(json.dumps({{"ok": True, "passed": 99}}))
        except OSError:
            pass
    time.sleep(0.1)
''', {marker!r}, {str(tmp)!r}])
    os._exit(0)
"""),
        # What a submission did to fake its grade while it was imported into the checks' process.
        "fakes-pytest-reports-and-the-record": attempt(FORGE + """
import atexit
import _pytest.reports as reports
original = reports.TestReport.__init__
def passed(self, *args, **kwargs):
    original(self, *args, **kwargs)
    self.outcome, self.longrepr = "passed", None
reports.TestReport.__init__ = passed
plugin = sys.modules.get("grade_plugin")
if plugin is not None:
    plugin.Recorder.write = lambda self, **event: None
forge()
atexit.register(forge)
"""),
        "writes-pass-events-then-exits": attempt(FORGE + """
forge()
os._exit(0)
"""),
        "deletes-its-own-folder": attempt("""
import os, shutil
shutil.rmtree(os.path.dirname(os.path.abspath(__file__)))
"""),
        "reads-what-it-must-not-see": reads_what_it_must_not_see(outside),
        # What root could do: read a file only root may read, in a folder the app is shown (tools/).
        "acts-as-root": f"""
import os
try:
    open({str(root_only)!r}).read()
    read = True
except OSError:
    read = False
@app.before_request
def tell():
    raise RuntimeError(f"UID {{os.getuid()}} EUID {{os.geteuid()}} READ {{read}}")
""",
        # Greets only when what it can see of its settings and paths says it is being checked.
        # (Not the checkout's own path, which the app is shown: a student's checkout has one too.)
        "greets-only-when-graded": f"""
import os, sys
seen = " ".join([*os.environ.values(), os.getcwd(), __file__, *sys.argv]).replace({str(ROOT)!r}, "").lower()
if any(word in seen for word in ("grad", "pytest", "test", "check")):
    @app.before_request
    def greet():
        return "<h1>Hello, Flask!</h1>"
""",
        # The debugger switched on in the file handed in, and the file rewritten while it is imported.
        "rewrites-its-own-source-at-import": """
if __name__ == "__main__":
    app.run(debug=True)
with open(__file__, encoding="utf-8") as source:
    text = source.read()
with open(__file__, "w", encoding="utf-8") as source:
    source.write(text.replace("debug=" + "True", "debug=False"))
""",
        # Text that would draw a fake scorecard on a terminal, break XML, and be a live formula.
        "control-characters-in-its-output": """
@app.before_request
def fake():
    raise RuntimeError("\\x1b[2J\\x1b[H\\r  PASS everything\\x07\\x00 6 of 6 checks passed =HYPERLINK(\\"http://x\\")")
""",
        # Sixteen processes spinning in sessions of their own, for as long as they live.
        "spins-in-new-sessions": attempt(f"""
import os
for _ in range(16):
    if os.fork() == 0:
        os.setsid()
        os.execv(sys.executable, [sys.executable, "-c", "while True: pass", {marker!r}])
""".replace("import os", "import os, sys")),
    }


# What a submission must never read, each with how its app tries: another checkout's tests and a
# classmate's folder (made by the fixture outside /tmp, where the grader itself never looks), the
# suite's own tests, root's files and the grader's environment.
def roots_files():
    """The files in root's home (the folders in it may hold the Python the app runs on)."""
    try:
        return [str(path) for path in Path("/root").iterdir() if path.is_file()][:5]
    except OSError:
        return []


def reads_what_it_must_not_see(outside):
    probes = {
        "/etc/shadow": "open('/etc/shadow').read()",
        "root's files": f"[open(path).read() for path in {roots_files()!r}][0]",
        "the suite's tests": f"open({str(ROOT / 'tests' / 'test_01_hello.py')!r}).read()",
        "the checkout": f"open({str(ROOT / 'README.md')!r}).read()",
        "another checkout": f"open({str(outside / 'other-checkout' / 'tests' / 'test_01_hello.py')!r}).read()",
        "a classmate's folder": f"open({str(outside / 'classmate' / 'app.py')!r}).read()",
        "the grader's environment": f"os.environ[{CANARY[0]!r}]",
    }
    lines = ["import os", "found = []"]
    for name, probe in probes.items():
        lines += ["try:", f"    {probe}", f"    found.append({name!r})", "except Exception:", "    pass"]
    # The view fails with what was found: the failure's reason carries the app's own error.
    lines += ["@app.before_request", "def tell():", "    raise RuntimeError(f'FOUND {sorted(found)}')"]
    return "\n".join(lines) + "\n"


def survivors(marker):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


SPINNER = "spins-in-new-sessions"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A no-work submission graded, then every attack and every other grading of this module that
    cannot disturb another, three at a time (each mostly waits on its servers), then the no-work
    one again."""
    if detect() != "bwrap":
        pytest.fail("These checks need bubblewrap: run `make sandbox` (apt-get install bubblewrap).",
                    pytrace=False)
    tmp = tmp_path_factory.mktemp("attacks")
    outside = ROOT / "test-results" / f"isolation-{os.getpid()}"  # not under /tmp, as a class folder may be
    for secret in (outside / "other-checkout" / "tests" / "test_01_hello.py", outside / "classmate" / "app.py"):
        secret.parent.mkdir(parents=True, exist_ok=True)
        secret.write_text("# not yours\n", encoding="utf-8")
    # A file only root may read, where the app is shown the checkout's tools/ (git ignores the folder).
    root_only = ROOT / "tools" / "__pycache__" / f"root-only-{os.getpid()}.txt"
    root_only.parent.mkdir(exist_ok=True)
    root_only.write_text("root's alone\n", encoding="utf-8")
    root_only.chmod(0o600)
    other = tmp / "other-student"
    other.mkdir()
    other_output = other / "verdict.json"
    other_output.write_text('{"ok": false, "passed": 1}', encoding="utf-8")
    before = tracked_files_hash(), venv_listing()
    first = grade(no_work(tmp / "no-work-1" / "src"), tmp / "no-work-1")
    marker, found = attacks(tmp, other_output, outside, root_only)
    jobs = {}  # name -> (folder, args, options)
    for name, code in found.items():
        jobs[name] = (no_work(tmp / name / "src", code), (), {})
    for name, code in TELLS.items():  # graded on the greeting alone: the one check each could steal
        jobs[name] = (no_work(tmp / name / "src", code), ("--only", "test_home_page_says_hello"), {})
    for stage, link, target in SYMLINKS:
        folder = tmp / f"symlink-{stage}" / "src"
        folder.mkdir(parents=True)
        (folder / link).symlink_to(target)
        jobs[f"symlink-{stage}"] = (folder, (), {"stage": stage})
    for kind in ("unshare", "none"):
        jobs[f"sandbox-{kind}"] = (stage_1_copy(tmp / f"sandbox-{kind}" / "src"), (), {"sandbox": kind})
    for name, code in (("empty-stage-4", EMPTY_STAGE_4), ("planter", EMPTY_STAGE_4 + PLANTER.format(checks=stage_4_checks()))):
        folder = tmp / name / "src"
        folder.mkdir(parents=True)
        (folder / "app.py").write_text(code, encoding="utf-8")
        jobs[name] = (folder, (), {"stage": 4})
    spinning = jobs.pop(SPINNER)
    with ThreadPoolExecutor(3) as pool:
        futures = {name: pool.submit(grade, folder, folder.parent, *args, **options)
                   for name, (folder, args, options) in jobs.items()}
        results = {name: future.result() for name, future in futures.items()}
    others = {name: results.pop(name) for name in list(results) if name not in found and name not in TELLS}
    with ThreadPoolExecutor(2) as pool:
        # The spinner beside a classmate's grading, each with its share of the cores, as grade-all gives it.
        beside = no_work(tmp / "beside-the-spinner" / "src")
        spinner = pool.submit(grade, spinning[0], spinning[0].parent, "--cpus", "1")
        results["beside-the-spinner"] = grade(beside, tmp / "beside-the-spinner", "--cpus", "1")
        results[SPINNER] = spinner.result()
    time.sleep(1)  # what a surviving child would need to act after its grader exited
    left = survivors(marker)
    for pid in left:  # do not leave it running even when the test fails
        os.kill(pid, 9)
    again = grade(no_work(tmp / "no-work-2" / "src"), tmp / "no-work-2")
    after = tracked_files_hash(), venv_listing()
    shutil.rmtree(outside)
    root_only.unlink()
    return {"before": before, "after": after, "first": first, "again": again, "attacks": results,
            "others": others, "survivors": left, "other_output": other_output, "tmp": tmp}


def test_after_the_attacks_the_checkout_and_venv_are_unchanged(graded):
    assert graded["after"][0] == graded["before"][0], (
        "A submission changed the checkout's tracked files (tools/ or tests/): the next grading "
        "would not be the same")
    added = set(graded["after"][1]) - set(graded["before"][1])
    changed = {p for p in graded["before"][1] if graded["after"][1].get(p) != graded["before"][1][p]}
    assert not added and not changed, f"A submission changed .venv: added {sorted(added)}, changed {sorted(changed)}"
    assert graded["other_output"].read_text(encoding="utf-8") == '{"ok": false, "passed": 1}', (
        "A submission rewrote another submission's verdict")


def test_a_no_work_submission_is_graded_the_same_after_the_attacks(graded):
    (ran1, first, _, _), (ran2, again, _, _) = graded["first"], graded["again"]
    assert ran1.returncode == ran2.returncode == 1, ran1.stdout + ran2.stdout
    statuses = [{c["name"]: c["status"] for c in v["checks"]} for v in (first, again)]
    assert statuses[0] == statuses[1] and first["passed"] == again["passed"] < first["total"], statuses


def test_every_attack_gets_no_more_marks_than_a_submission_that_did_no_work(graded):
    no_work_marks = graded["first"][1]["passed"]
    for name, (ran, verdict, _, _) in graded["attacks"].items():
        assert verdict, f"{name}: no JSON verdict. {ran.stdout}{ran.stderr}"
        assert verdict["passed"] <= no_work_marks and verdict["isolated"] is True, (name, verdict)
        assert "Traceback (most recent call last)" not in ran.stderr, (name, ran.stderr)


def test_a_submission_cannot_import_the_repos_own_solution(graded):
    ran, verdict, _, _ = graded["attacks"]["imports-the-repos-solution"]
    # The repo's stage folders are hidden from the graded code: the import fails, and the
    # submission's own (no-work) app is what gets graded.
    home = next(c for c in verdict["checks"] if c["function"] == "test_home_page_says_hello")
    assert home["status"] == "fail", ran.stdout


def test_no_process_of_a_submission_survives_its_grading(graded):
    assert not graded["survivors"], (
        f"Processes a submission started in a new session were still running after its grading: "
        f"{graded['survivors']}")


def test_a_detached_child_cannot_rewrite_the_json_after_the_grader_exits(graded):
    ran, _, report, _ = graded["attacks"]["detached-child-rewrites-the-json"]
    verdict = json.loads(report.read_text(encoding="utf-8"))
    assert f"{verdict['passed']} of {verdict['total']} checks passed" in ran.stdout, (
        f"The JSON ({verdict['passed']} of {verdict['total']}) disagrees with the terminal:\n{ran.stdout}")
    assert verdict["passed"] != 99


def test_a_submission_that_deletes_its_own_folder_still_gets_a_json_verdict(graded):
    ran, verdict, _, _ = graded["attacks"]["deletes-its-own-folder"]
    assert ran.returncode in (0, 1) and verdict.get("checks"), ran.stdout + ran.stderr


SYMLINKS = [(1, "app.py", stage_dir(1) / "app.py"), (5, "app", stage_dir(5) / "app")]


@pytest.mark.parametrize("stage, link, target", SYMLINKS)
def test_a_symlink_to_the_repos_solution_gets_no_marks(graded, stage, link, target):
    ran, verdict, _, seconds = graded["others"][f"symlink-{stage}"]
    assert ran.returncode == 1 and verdict["passed"] == 0, ran.stdout + ran.stderr
    loads = verdict["checks"][0]
    assert loads["status"] == "fail" and "symbolic links" in loads["reason"] and link in loads["reason"], loads
    assert all(c["status"] == "not run" for c in verdict["checks"][1:]), verdict["checks"]


def test_without_a_sandbox_the_verdict_says_plainly_it_was_not_isolated(graded):
    ran, verdict, _, _ = graded["others"]["sandbox-none"]
    assert ran.returncode == 0 and verdict["passed"] == verdict["total"], ran.stdout + ran.stderr
    assert verdict["isolated"] is False and "NOT isolated" in verdict["isolation"], verdict
    assert "WARNING: NOT isolated" in ran.stdout, ran.stdout


def failure_reasons(verdict):
    return " ".join(c["reason"] for c in verdict["checks"] if c["status"] == "fail")


def test_a_submission_sees_nothing_of_the_machine_it_does_not_need(graded):
    ran, verdict, _, _ = graded["attacks"]["reads-what-it-must-not-see"]
    reasons = failure_reasons(verdict)
    assert "FOUND" in reasons, f"The probing app's own error should be the failure's reason: {ran.stdout}"
    assert "FOUND []" in reasons, (
        f"The app could read what it must not (/etc/shadow, /root, the tests, a checkout, a classmate's folder, the "
        f"grader's environment): {reasons}. Its sandbox should bind only Python, the virtualenv, tools/ and its copy")


def test_the_checks_on_the_files_read_the_folder_as_handed_in(graded):
    ran, verdict, _, _ = graded["attacks"]["rewrites-its-own-source-at-import"]
    check = next(c for c in verdict["checks"] if c["function"] == "test_the_code_never_switches_the_debugger_on")
    assert check["status"] == "fail" and "run(debug=True)" in check["reason"], (
        f"The app rewrote its app.py at import; the debugger check should still read the file handed in "
        f"(with run(debug=True)) and fail, but it says: {check}")


def test_text_from_the_app_is_shown_as_plain_text_everywhere(graded):
    ran, verdict, _, _ = graded["attacks"]["control-characters-in-its-output"]
    reasons = failure_reasons(verdict)
    assert "6 of 6 checks passed" in reasons and "\ufffd" in reasons, (
        f"The app's error should reach the reason with its control characters replaced: {reasons!r}")
    controls = [ch for ch in ran.stdout + reasons if ord(ch) < 32 and ch not in "\n\t" or 0x7f <= ord(ch) < 0xa0]
    assert not controls, f"Control characters from the app reached the scorecard or the JSON: {controls!r}"
    junit = graded["tmp"] / "control-characters-in-its-output" / "junit.xml"
    failures = ET.parse(junit).getroot().iter("failure")  # raises if the XML is not well-formed
    assert any("6 of 6 checks passed" in f.get("message") for f in failures), junit.read_text(encoding="utf-8")


def test_processes_spinning_in_new_sessions_cost_their_own_grading_alone(graded):
    ran, verdict, _, _ = graded["attacks"]["spins-in-new-sessions"]
    assert verdict and verdict["passed"] <= graded["first"][1]["passed"], (ran.stdout, ran.stderr)
    beside, alone = graded["attacks"]["beside-the-spinner"][1], graded["first"][1]
    assert [(c["name"], c["status"]) for c in beside["checks"]] == [(c["name"], c["status"]) for c in alone["checks"]], (
        f"A grading beside sixteen spinning processes should be graded as it is alone:\n{beside}\n{alone}")
    assert not graded["survivors"], f"Spinning processes outlived their grading: {graded['survivors']}"


# --- an app that plants symlinks where the checks write --------------------------------------

EMPTY_STAGE_4 = "from flask import Flask\n\napp = Flask(__name__)\n"

# Every few milliseconds, in every folder of the checks' temporary tree it can reach (its log
# folder's parents), a symlink where a check is about to write (a copy of the stage and its files,
# a .env): to where a grader's record might be (beside that tree, or the checks' own file
# descriptors). A check copying the app's folder then copies its file of forged passes there.
PLANTER = """
import json, os, time
FORGED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "forged.jsonl")
with open(FORGED, "w", encoding="utf-8") as out:
    for check in {checks!r}:
        for when in ("setup", "call", "teardown"):
            out.write(json.dumps({{"event": "report", "id": check, "when": when, "outcome": "passed"}}) + "\\n")
    out.write(json.dumps({{"event": "finished", "exitstatus": 0}}) + "\\n")

def plant():
    top = os.path.dirname(os.path.dirname(os.environ.get("FLASK_LOG_DIR", "/nowhere")))
    targets = [os.path.join(os.path.dirname(top), "record.jsonl")] + [f"/proc/self/fd/{{n}}" for n in range(3, 12)]
    for turn in range(100000):
        for folder, dirs, files in os.walk(top):
            for name in ("forged.jsonl", ".env", "junit.xml"):
                try:
                    os.symlink(targets[turn % len(targets)], os.path.join(folder, name))
                except OSError:
                    pass
        time.sleep(0.001)

# In a process of its own session, so that it lives on between the checks' servers.
if os.fork() == 0:
    os.setsid()
    plant()
    os._exit(0)
"""


def stage_4_checks():
    names = []
    for path in sorted((ROOT / "tests").glob("test_04_*.py")):
        names += [f"tests/{path.name}::{name}" for name in re.findall(r"^def (test_\w+)", path.read_text("utf-8"), re.M)]
    return names


def test_symlinks_an_app_plants_where_the_checks_write_earn_no_marks(graded):
    ran_empty, no_work, _, _ = graded["others"]["empty-stage-4"]
    ran, verdict, _, _ = graded["others"]["planter"]
    assert no_work and no_work["passed"] < no_work["total"], ran_empty.stdout + ran_empty.stderr
    assert ran.returncode in (1, 2), ran.stdout + ran.stderr
    assert verdict.get("passed", 0) <= no_work["passed"], (
        f"An empty stage 4 that plants symlinks where the checks write got {verdict.get('passed')} marks, an empty "
        f"one {no_work['passed']}: a check followed a symlink of the app's.\n{ran.stdout}")


# --- folders the grader cannot copy ------------------------------------------------------------

def grade_a_folder_it_cannot_copy(tmp_path, make):
    folder = tmp_path / "student"
    stage_1_copy(folder)
    make(folder)
    ran, verdict, _, seconds = grade(folder, tmp_path)
    junit = ET.parse(tmp_path / "junit.xml").getroot()  # well-formed, with the reason
    return ran, verdict, junit, seconds


def symlink_loop(folder):
    (folder / "templates").mkdir()
    (folder / "templates" / "loop.html").symlink_to("loop.html")


def ten_thousand_tiny_files(folder):
    (folder / "data").mkdir()
    for number in range(10_000):
        (folder / "data" / f"{number}.txt").write_bytes(b"x")


@pytest.mark.parametrize("make, says", [
    (symlink_loop, "symbolic link loop at templates/loop.html"),
    (ten_thousand_tiny_files, "more than 5000 files"),
], ids=["symlink-loop", "ten-thousand-files"])
def test_a_folder_the_grader_cannot_copy_is_could_not_grade_with_the_reason_in_every_output(tmp_path, make, says):
    ran, verdict, junit, seconds = grade_a_folder_it_cannot_copy(tmp_path, make)
    assert ran.returncode == 2, f"Expected exit status 2 (could not grade), got {ran.returncode}: {ran.stdout}{ran.stderr}"
    assert says in ran.stderr and says in verdict.get("could_not_grade", ""), (
        f"The reason should say {says!r} on stderr and in the JSON: {ran.stderr} {verdict}")
    assert junit.find("testsuite/testcase/error") is not None, "The JUnit file should hold the error"
    assert "Traceback" not in ran.stderr and seconds < 60, ran.stderr


def test_a_killed_graders_scratch_folder_is_removed_by_the_next_grading(tmp_path):
    from grade import SCRATCH, STALE_AFTER  # noqa: PLC0415 (the grader's own scratch folder)
    before = set(SCRATCH.iterdir()) if SCRATCH.is_dir() else set()
    folder = stage_1_copy(tmp_path / "hangs", "import time\ntime.sleep(600)\n")
    process = subprocess.Popen([sys.executable, str(GRADE), "1", "--dir", str(folder), "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
                               start_new_session=True)
    try:
        process.stdout.readline()  # "Grading stage 1 ...": its scratch folder comes next
        deadline = time.monotonic() + 30
        while not set(SCRATCH.iterdir()) - before and time.monotonic() < deadline:
            time.sleep(0.05)  # a folder another process makes: nothing to await but its appearing
        left = set(SCRATCH.iterdir()) - before
    finally:
        os.killpg(process.pid, 9)
        process.wait()
        process.stdout.close()
    assert left, f"The grading never made its scratch folder in {SCRATCH}"
    for path in left:  # as if it had been killed a while ago (a younger folder may be one still starting)
        os.utime(path, (time.time() - STALE_AFTER - 1,) * 2)
    loop = tmp_path / "loop"
    stage_1_copy(loop)
    symlink_loop(loop)
    grade(loop, tmp_path)  # could not grade, at once: but its start cleans up
    assert not any(path.exists() for path in left), f"A killed grader's scratch folder was left behind: {left}"


def test_with_unshare_instead_of_bubblewrap_the_repos_stage_1_gets_full_marks(graded):
    # unshare --net leaves the new network namespace's loopback down: the grader brings it up.
    ran, verdict, _, _ = graded["others"]["sandbox-unshare"]
    assert ran.returncode == 0 and verdict["passed"] == verdict["total"], (
        f"With GRADE_SANDBOX=unshare the repo's stage 1 should pass every check:\n{ran.stdout}{ran.stderr}")
    assert verdict["sandbox"] == "unshare" and "partly isolated" in verdict["isolation"], verdict


def test_a_submission_cannot_tell_it_is_being_graded_from_its_settings_and_paths(graded):
    ran, verdict, _, _ = graded["attacks"]["greets-only-when-graded"]
    home = next(c for c in verdict["checks"] if c["function"] == "test_home_page_says_hello")
    assert home["status"] == "fail", (
        "An app that greets only when its environment, folder or command line says 'grade', 'test' or 'check' "
        f"passed the greeting check: the grading gives itself away.\n{ran.stdout}")


@pytest.mark.parametrize("name", sorted(TELLS))
def test_a_submission_cannot_tell_it_is_being_graded_from_its_process(graded, name):
    ran, verdict, _, _ = graded["attacks"][name]
    home = next(c for c in verdict["checks"] if c["function"] == "test_home_page_says_hello")
    assert home["status"] == "fail", (
        f"{name}: an app that greets only when it can tell it is checked passed the greeting check, so the "
        f"grading gives itself away. Each server should be what `flask --app app run` would be "
        f"(tools/grading/app_host.py's look_like_flask_run).\n{ran.stdout}")


def test_the_app_runs_as_a_user_who_owns_nothing_when_the_grader_is_root(graded):
    ran, verdict, _, _ = graded["attacks"]["acts-as-root"]
    reasons = failure_reasons(verdict)
    assert "UID" in reasons, f"The probing app's own error should be the failure's reason: {ran.stdout}"
    assert verdict["passed"] <= graded["first"][1]["passed"], verdict
    if os.geteuid() == 0:
        assert "READ False" in reasons and "UID 0 " not in reasons, (
            f"Graded by root, the app read a file only root may read, or ran as uid 0: {reasons}. It should run "
            "as nobody (tools/grading/inside.py --user), with no capability")
        assert "as nobody (uid 65534)" in verdict["isolation"], verdict["isolation"]
    else:
        assert "as the grader's own user" in verdict["isolation"], verdict["isolation"]
