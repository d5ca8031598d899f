"""The grader (tools/grade.py) and the suite's power to tell a broken app from a working one.

- the grader gives the repo's stage full marks (one stage through `make grade`, one big stage
  graded by two workers: `make test` itself runs every check on every stage as the grader does);
- the checks that state stage N's new concept fail on stage N-1's folder (as rustlings
  runs every exercise unsolved to prove its checks catch the missing piece);
- every mutation in tests/mutations/stage_0N.toml (a mistake students make) makes the
  checks it names fail; a mutation whose text is gone from the lesson fails loudly;
- a folder that does not import, hangs, crashes, serves 500s or is laid out differently
  gets a clean verdict in bounded time, and the graded folder is never changed;
- the student's loop (exercise, grade, progress), the JUnit and JSON outputs, `make diff`.

The mutations and the concept checks are proven with the checks themselves, as `make test` runs
them: a pytest child (tools/mutants_plugin.py; one for stages 1-6, one for stage 7) runs, on each
mutated copy, only the checks its mutation names, and the concept checks on the stage before. What is about the grader itself
(full marks, a folder that cannot load, a 500, a hang, the outputs, the student's loop) goes
through tools/grade.py, each run as small as its proof allows.

Each grading or proof run is a child process. The module's `gradings` fixture starts every job
the selected tests need, three at a time, in the order the tests run: each test then waits only
for its own, and the whole file takes about as long as a third of its jobs.
"""
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import pytest

from grading.checks import Check
from grading.hints import hint_for
from mutate import Mutation, StaleMutation, load, make_mutant
from stages import ROOT, STAGES, check_functions, stage_dir
from stages import test_files as stage_tests

GRADE = ROOT / "tools" / "grade.py"
EXERCISE = ROOT / "tools" / "exercise.py"
WORKERS = 3           # jobs at once: CI machines have 2 cores, and many jobs mostly wait (time limits, a browser)
GRADING_BOUND = 240   # no grading in this file may take longer than this (seconds)
QUICK = 30            # a broken folder's verdict comes within this many seconds
APP_LOADS = "the_app_loads"

# A test waits for its grading, which may queue behind others on a busy machine; each
# grading is bounded by GRADING_BOUND itself, so the wait is bounded too.
pytestmark = pytest.mark.timeout(GRADING_BOUND + 60)


def check_names(number):
    """(every check function of stage N, the browser ones): a shared module's only where marked with N."""
    names, browser = set(), set()
    for path in stage_tests(number):
        found = set(check_functions(path, number))
        names |= found
        if path.parent.name == "browser":
            browser |= found
    return names | {APP_LOADS}, browser


STAGES_WITH_CHECKS = [n for n in STAGES if stage_dir(n).is_dir() and stage_tests(n, browser=False)]


# --- gradings as jobs --------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """One grading: of `stage`, on the folder `make(workdir)` builds (None: the repo's stage).

    A job with a `task` runs task(workdir) instead: the slow part of a test that is not one
    grading (a sequence of commands), so that it too runs alongside the others. A `proofs` job
    runs the checks on the folders of the selected tests' proofs.
    """
    key: str
    stage: int = 0
    make: Optional[Callable] = field(default=None, compare=False)
    args: tuple = ()
    task: Optional[Callable] = field(default=None, compare=False)
    proofs: bool = False

    def __str__(self):
        return self.key


@dataclass(frozen=True)
class Proof:
    """Checks of `stage` that must fail on the folder `make(workdir)` builds: a mutated copy of
    the stage, or (key "concept") the stage before."""
    stage: int
    key: str
    checks: tuple
    make: Callable = field(compare=False)


@dataclass
class Graded:
    returncode: Optional[int]
    stdout: str
    stderr: str
    verdict: dict
    seconds: float
    folder: Path

    def check(self, name):
        """The check called name; for a parametrised one, its first failed instance if any."""
        found = self.instances(name)
        return next((c for c in found if c["status"] == "fail"), found[0] if found else None)

    def instances(self, name):
        return [c for c in self.verdict.get("checks", []) if name in (c["name"], c["function"])]

    def statuses(self):
        return {c["name"]: c["status"] for c in self.verdict.get("checks", [])}

    def describe(self):
        return f"exit status {self.returncode} after {self.seconds:.1f} s; output:\n{self.stdout}\n{self.stderr}"


def child_env():
    # No FLASK_*/PYTEST_* of this run, and no outer make's flags (`make test` runs this file).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLASK_", "PYTEST_")) and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_bounded(command, timeout=GRADING_BOUND, cwd=ROOT, env=None):
    """(exit status or None, stdout, stderr, seconds); the whole process group is stopped at the bound."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env={**child_env(), **(env or {})}, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               encoding="utf-8", errors="replace", start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
        code = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        code = None
    return code, out, err, time.monotonic() - started


def grade(stage, folder, *args, workdir):
    report = Path(workdir) / "verdict.json"
    code, out, err, seconds = run_bounded(
        [sys.executable, str(GRADE), str(stage), "--dir", str(folder), "--json", str(report), *args],
        # A mutated copy's failing browser checks leave their screenshots here, not in test-results/.
        env={"BROWSER_ARTIFACTS": str(Path(workdir) / "browser-artifacts")})
    verdict = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {}
    return Graded(code, out, err, verdict, seconds, Path(folder))


# --- proofs: the checks themselves, on mutated copies --------------------------------

@dataclass
class ProofRun:
    """What one proof run of the checks did: per proof key, its checks as the grader would list them."""
    returncode: Optional[int]
    stdout: str
    stderr: str
    seconds: float
    checks: dict      # proof -> [check dicts: name, function, status, reason, details, hint]
    stale: dict       # proof -> the StaleMutation its folder could not be made with
    events: list

    def instances(self, proof, name):
        return [c for c in self.checks.get(proof, []) if name in (c["name"], c["function"])]

    def check(self, proof, name):
        """The check called name on proof's folder; for a parametrised one, its first failed instance if any."""
        found = self.instances(proof, name)
        return next((c for c in found if c["status"] == "fail"), found[0] if found else None)

    def describe(self):
        return (f"the proof run of the checks: exit status {self.returncode} after {self.seconds:.1f} s; "
                f"output:\n{self.stdout[-6000:]}\n{self.stderr[-3000:]}")


def status_of(reports):
    """(status, reason, details) of one test from its reports: "fail" only for a failure of the check
    itself; a failure in its setup (a fixture) is an "error in setup", a skip is "not run"."""
    by_phase = {r["when"]: r for r in reports}
    setup, call, teardown = by_phase.get("setup"), by_phase.get("call"), by_phase.get("teardown")
    if setup is None:
        return "not run", "never started: the proof run ended before this check", ""
    if setup["outcome"] == "failed":
        return "error in setup", setup["reason"], setup["details"]
    if setup["outcome"] == "skipped" or (call and call["outcome"] == "skipped"):
        skipped = call if call and call["outcome"] == "skipped" else setup
        return "not run", skipped["reason"], skipped["details"]
    if call is None:
        return "not run", "did not finish: the proof run ended during this check", ""
    if call["outcome"] == "failed":
        return "fail", call["reason"], call["details"]
    if teardown and teardown["outcome"] == "failed":
        return "error in teardown", teardown["reason"], teardown["details"]
    return "pass", "", ""


def prove(proofs, workdir):
    """Run the proofs' checks in one pytest child (tools/mutants_plugin.py): on each proof's folder,
    only the checks it names. A proof whose folder cannot be made (a stale mutation) is left out."""
    started = time.monotonic()
    plan, stale, files = [], {}, []
    for proof in proofs:
        try:
            folder = proof.make(workdir / "folders" / str(proof.stage) / proof.key)
        except StaleMutation as error:
            stale[proof] = error
            continue
        plan.append({"key": f"{proof.stage}-{proof.key}", "stage": proof.stage, "folder": str(folder),
                     "checks": list(proof.checks)})
        # The browser's test files only when a proof names a browser check (not in `make test-fast`).
        files += [f for f in stage_tests(proof.stage, browser=bool(set(proof.checks) & check_names(proof.stage)[1]))
                  if f not in files]
    checks = {}
    if not plan:
        return ProofRun(0, "", "", 0.0, checks, stale, [])
    (workdir / "plan.json").write_text(json.dumps(plan, indent=1), encoding="utf-8")
    (workdir / "run").mkdir()
    record = workdir / "record.jsonl"
    code, out, err, _ = run_bounded(
        [sys.executable, "-m", "pytest", *map(str, sorted(files)), "-p", "mutants_plugin",
         "--mutants", str(workdir / "plan.json"), "--mutants-record", str(record),
         # The app host hides the folder holding pytest's temporary folders: not the one with the copies.
         "--basetemp", str(workdir / "run" / "tmp"), "-q", "--tb=short", "--no-header"],
        env={"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tools"), os.environ.get("PYTHONPATH")])),
             # A mutated copy's failing browser checks leave their screenshots here, not in test-results/.
             "BROWSER_ARTIFACTS": str(workdir / "browser-artifacts")})
    events = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()] if record.is_file() else []
    reports, proof_of = {}, {f"{p.stage}-{p.key}": p for p in proofs}
    for event in events:
        if event["event"] == "report":
            reports.setdefault(event["id"], []).append(event)
    for event in events:
        if event["event"] == "collected":
            status, reason, details = status_of(reports.get(event["id"], []))
            name = event["id"].split("::", 1)[-1]
            check = {"name": name, "function": event["function"], "status": status,
                     "reason": reason, "details": details, "hint": ""}
            if status == "fail":  # the hint the grader would give
                check["hint"] = hint_for(Check(id=event["id"], name=name, function=event["function"],
                                               description=name, reason=reason, details=details,
                                               browser=event["browser"], doc=event["doc"]), proof_of[event["key"]].stage)
            checks.setdefault(proof_of[event["key"]], []).append(check)
    return ProofRun(code, out, err, time.monotonic() - started, checks, stale, events)


def run_job(job, workdir, proofs=()):
    started = time.monotonic()
    try:
        if job.proofs:
            return prove(proofs, Path(workdir))
        if job.task:
            return job.task(Path(workdir))
        folder = job.make(workdir) if job.make else stage_dir(job.stage)
        return grade(job.stage, folder, *job.args, workdir=workdir)
    finally:
        if os.environ.get("GRADING_TIMES"):  # where the file's time goes: GRADING_TIMES=path
            with open(os.environ["GRADING_TIMES"], "a", encoding="utf-8") as times:
                times.write(f"{started:.1f} {time.monotonic() - started:6.1f} {job.key}\n")


@pytest.fixture(scope="module")
def gradings(request, tmp_path_factory):
    """job -> its result; every selected test's job is started at once, three at a time.

    A proofs job runs the proofs of the selected tests only (`make test-fast` leaves out the
    mutations that name browser checks, so their stage's run does not start a browser)."""
    jobs, proofs = [], {}
    for item in request.session.items:
        params = item.callspec.params if hasattr(item, "callspec") else {}
        job = params.get("job")
        if isinstance(job, Job) and item.module is request.module:
            if job not in jobs:
                jobs.append(job)
            if isinstance(params.get("proof"), Proof) and params["proof"] not in proofs.setdefault(job, []):
                proofs[job].append(params["proof"])
    # The longest first (the proof runs), the short ones alongside.
    jobs.sort(key=lambda job: not job.proofs)
    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="grading")
    futures = {job: pool.submit(run_job, job, tmp_path_factory.mktemp(job.key[:40]), proofs.get(job, ()))
               for job in jobs}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def result(gradings, job):
    return gradings[job].result()  # re-raises what went wrong, e.g. a StaleMutation


# --- full marks on the repo's stages -----------------------------------------------------

def graded_with_make(workdir):
    """A copy of stage 1 graded the way a student asks for it: `make grade 1 DIR=... JSON=...`."""
    folder = workdir / "mine"
    shutil.copytree(stage_dir(1), folder)
    report = workdir / "verdict.json"
    code, out, err, seconds = run_bounded(
        ["make", "-s", "--no-print-directory", "grade", "1", f"DIR={folder}", f"JSON={report}"],
        env={"BROWSER_ARTIFACTS": str(workdir / "browser-artifacts")})
    verdict = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {}
    return Graded(code, out, err, verdict, seconds, folder)


# Stage 1's full marks come through `make grade 1`: test_make_grade_takes_the_stage_number_like_make_stage
# reads the same run.
MAKE_GRADE = Job("full-1-by-make", 1, task=graded_with_make)


def has_browser_checks(number):
    return len(stage_tests(number)) > len(stage_tests(number, False))


# A big stage is graded by several pytest-xdist workers (tools/grade.py's MANY_CHECKS). Stage 7's
# scorecard from two workers, on checks that need what only its folder has: the Socket.IO
# client it serves to the browser, Redis, and plain HTTP.
TWO_WORKERS = ("test_user_and_attendant_chat_both_ways_live_over_a_websocket",
               "test_user_and_attendant_on_two_servers_talk_through_redis_and_each_message_is_logged_once",
               "test_home_page_opens_each_client_in_its_own_window",
               "test_start_a_chat_creates_its_log_and_opens_its_page")
FULL_7 = Job("full-7-two-workers", 7, args=("--workers", "2", *(arg for name in TWO_WORKERS for arg in ("--only", name))))


# `make test` runs every check of every stage on the repo's folders, served exactly as the grader
# serves them; these two gradings prove what tools/grade.py adds to that: its copy of the folder
# (app.py, and an app/ package with its static files), the scorecard and its JSON, and two workers.
@pytest.mark.parametrize("job", [pytest.param(MAKE_GRADE, id="stage-1-by-make",
                                              marks=[pytest.mark.browser] if has_browser_checks(1) else []),
                                 pytest.param(FULL_7, id="stage-7-two-workers", marks=[pytest.mark.browser])])
def test_the_repos_stage_gets_full_marks_from_the_grader(gradings, job):
    graded = result(gradings, job)
    not_passed = {name: s for name, s in graded.statuses().items() if s != "pass"}
    assert graded.returncode == 0 and not not_passed, (
        f"The repo's stage {job.stage} should pass every check; these did not: {not_passed}\n{graded.describe()}"
    )
    total = graded.verdict["total"]
    listed = {check["function"] for check in graded.verdict["checks"]}
    expected = check_names(1)[0] if job is MAKE_GRADE else {APP_LOADS, *TWO_WORKERS}
    assert listed == expected, f"The scorecard should list every check it ran: {sorted(listed ^ expected)}"
    assert f"{total} of {total} checks passed" in graded.stdout, graded.describe()


# --- the concept checks fail on the stage before -----------------------------------------

STAGE_7_RUNS = 3  # stage 7's proofs wait most (reconnects, Redis, time limits): in runs side by side


def proof_job(number, turn=0):
    """The run a proof of stage N goes to: stages 1-6 share one (one start-up); stage 7's proofs, the
    most and the slowest, take turns in STAGE_7_RUNS runs that wait alongside each other."""
    return Job(f"proofs-7-{turn % STAGE_7_RUNS}", proofs=True) if number == 7 else Job("proofs-1-6", proofs=True)


def concept_proofs():
    for number in STAGES_WITH_CHECKS:
        concept, _ = load(number)
        if number > 1 and concept and stage_dir(number - 1).is_dir():
            proof = Proof(number, "concept", tuple(concept), make=lambda _target, n=number: stage_dir(n - 1))
            yield pytest.param(proof_job(number), proof, id=f"stage-{number}-on-{STAGES[number - 1]}")


@pytest.mark.parametrize("job, proof", list(concept_proofs()))
def test_the_checks_of_a_stage_concept_fail_on_the_stage_before(gradings, job, proof):
    concept, _ = load(job.stage)
    ran = result(gradings, job)
    missing = [name for name in concept if not ran.instances(proof, name)]
    assert not missing, (
        f"tests/mutations/stage_{job.stage:02d}.toml lists concept checks that stage {job.stage} does not have "
        f"(renamed?): {missing}\n{ran.describe()}"
    )
    passing = [(c["name"], c["status"], c["reason"]) for name in concept for c in ran.instances(proof, name)
               if c["status"] != "fail"]
    assert not passing, (
        f"These checks of stage {job.stage}'s concept should fail on {STAGES[job.stage - 1]}, which lacks the "
        f"concept, but did not: {passing}. They do not test what the stage adds."
    )


def test_every_stage_after_the_first_names_its_concept_checks():
    for number in STAGES_WITH_CHECKS:
        if number == 1:
            continue
        concept, _ = load(number)
        assert concept, f"tests/mutations/stage_{number:02d}.toml should list stage {number}'s concept checks"
        names, _ = check_names(number)
        unknown = sorted(set(concept) - names)
        assert not unknown, f"stage_{number:02d}.toml names concept checks stage {number} does not have: {unknown}"


# --- mutations: mistakes students make ---------------------------------------------------

def mutation_proofs():
    """Each mutation as a Proof, with its job: the stage's proof run; or, for a mutation that stops
    the app loading (the grader's own first check, `the_app_loads`), a grading of its own."""
    for number in STAGES_WITH_CHECKS:
        _, mutations = load(number)
        _, browser = check_names(number)
        for turn, mutation in enumerate(mutations, 1):
            proof = Proof(number, mutation.id, tuple(mutation.fails),
                          make=lambda target, m=mutation: make_mutant(m, Path(target) / STAGES[m.stage]))
            if APP_LOADS in mutation.fails:
                job = Job(f"mutant-{number}-{mutation.id}", number, make=proof.make,
                          args=("--no-browser", *mutation.extra.get("grade_args", [])))
            else:
                job = proof_job(number, turn)
            marks = [pytest.mark.browser] if set(mutation.fails) & browser else []
            yield pytest.param(job, proof, mutation, id=f"{number}-{mutation.id}", marks=marks)


@pytest.mark.parametrize("job, proof, mutation", list(mutation_proofs()))
def test_a_mutated_stage_fails_the_check_that_names_the_mistake(gradings, job, proof, mutation):
    ran = result(gradings, job)
    if job.proofs:
        if proof in ran.stale:
            raise ran.stale[proof]
        assert proof in ran.checks, f"The proof run ran no check on {mutation.id!r}'s copy: {ran.describe()}"
        found = {name: ran.check(proof, name) for name in mutation.fails}
    else:
        assert ran.returncode == 1, f"Grading stage {job.stage} with {mutation.id!r} should fail. {ran.describe()}"
        found = {name: ran.check(name) for name in mutation.fails}
    for name, check in found.items():
        assert check is not None, (
            f"{mutation.source} says {mutation.id!r} fails {name}, but stage {mutation.stage} has no such check"
        )
        assert check["status"] == "fail", (
            f"{mutation.id!r} ({mutation.why}) should fail the check {name!r}, but it is {check['status']!r}"
            f"{': ' + check['reason'] if check['reason'] else ''}: the check does not catch this mistake."
            f"\n{ran.describe()}"
        )
        assert check["reason"] and check["hint"], f"A failed check should come with a reason and a hint: {check}"
        assert "Traceback (most recent call last)" not in check["reason"] + check["details"], check
    if not job.proofs:
        assert "Traceback (most recent call last)" not in ran.stdout + ran.stderr, ran.describe()


def test_every_stage_has_at_least_five_mutations_naming_real_checks():
    for number in STAGES_WITH_CHECKS:
        _, mutations = load(number)
        assert len(mutations) >= 5, f"tests/mutations/stage_{number:02d}.toml should hold at least 5 mutations"
        names, _ = check_names(number)
        ids = [m.id for m in mutations]
        assert len(ids) == len(set(ids)), f"stage_{number:02d}.toml: mutation ids should be unique"
        for mutation in mutations:
            assert mutation.fails and set(mutation.fails) <= names, (
                f"{mutation.source}: {mutation.id!r} should name checks stage {number} has; unknown: "
                f"{sorted(set(mutation.fails) - names)}"
            )


def copy_of_stage_1(target, change=None):
    shutil.copytree(stage_dir(1), target, ignore=shutil.ignore_patterns("__pycache__"))
    if change:
        change(target)
    return target


# Proofs that must NOT hold, run in stages 1-6's proof run: a proof is only worth something if
# a check that passes, or that never gets to its assertions, is told apart from one that fails.
UNCHANGED = Proof(1, "self-check-unchanged-copy", ("test_home_page_says_hello", "test_home_page_is_html"),
                  make=copy_of_stage_1)
NO_APP = Proof(1, "self-check-no-app", ("test_home_page_says_hello",),
               make=lambda target: copy_of_stage_1(target, renamed_to_main))


@pytest.mark.parametrize("job, proof", [pytest.param(proof_job(1), UNCHANGED, id="unchanged"),
                                        pytest.param(proof_job(1), NO_APP, id="app-cannot-load")])
def test_a_proof_tells_a_failing_check_from_a_passing_or_broken_one(gradings, job, proof):
    ran = result(gradings, job)
    statuses = {name: ran.check(proof, name)["status"] for name in proof.checks}
    if proof is UNCHANGED:
        assert statuses == dict.fromkeys(proof.checks, "pass"), (
            f"On an unchanged copy of stage 1 these checks pass; the proof run says {statuses}\n{ran.describe()}")
    else:
        check = ran.check(proof, "test_home_page_says_hello")
        assert check["status"] == "error in setup" and "could not be started" in check["reason"], (
            f"A copy whose app cannot load fails in setup, which proves no mutation: {check}\n{ran.describe()}")


def test_a_mutation_whose_text_left_the_lesson_fails_loudly(tmp_path):
    gone = Mutation(stage=1, id="text-no-longer-there", file="app.py", find="this text is not in the lesson",
                    replace="", fails=["test_home_page_says_hello"], why="a lesson that changed")
    with pytest.raises(StaleMutation) as error:
        make_mutant(gone, tmp_path / "copy")
    assert "text-no-longer-there" in str(error.value) and "stage_01.toml" in str(error.value)
    missing_file = Mutation(stage=1, id="file-gone", file="nope.py", find="x", replace="", fails=[], why="")
    with pytest.raises(StaleMutation, match="there is no 01_hello/nope.py"):
        make_mutant(missing_file, tmp_path / "copy2")


# --- broken folders get a clean verdict in bounded time ----------------------------------

def stage_1_with(change):
    """A job maker: a copy of 01_hello changed by change(folder)."""
    def make(workdir):
        folder = Path(workdir) / "student"
        shutil.copytree(stage_dir(1), folder, ignore=shutil.ignore_patterns("__pycache__"))
        change(folder)
        return folder
    return make


def appended(code):
    def change(folder):
        with open(folder / "app.py", "a", encoding="utf-8") as app:
            app.write(code)
    return change


def in_the_view(line):
    def change(folder):
        path = folder / "app.py"
        text = path.read_text(encoding="utf-8")
        assert "def index():\n" in text, "01_hello/app.py changed: update tests/harness/test_grading.py"
        path.write_text(text.replace("def index():\n", f"def index():\n    {line}\n"), encoding="utf-8")
    return change


def renamed_to_main(folder):
    (folder / "app.py").rename(folder / "main.py")


# The browser is not the point of these: --no-browser.
BROKEN = {
    "syntax-error": Job("broken-syntax", 1, stage_1_with(appended("\ndef oops(:\n")), args=("--no-browser",)),
    "exception-at-import": Job("broken-raises", 1, stage_1_with(appended("\nraise RuntimeError('no config')\n")),
                               args=("--no-browser",)),
    "hangs-at-import": Job("broken-hangs", 1, stage_1_with(appended("\nimport time\ntime.sleep(600)\n")),
                           args=("--no-browser", "--import-timeout", "3")),
    "exits-at-import": Job("broken-exits", 1, stage_1_with(appended("\nimport os\nos._exit(3)\n")),
                           args=("--no-browser",)),
    "main-py-layout": Job("broken-main-py", 1, stage_1_with(renamed_to_main), args=("--no-browser",)),
    "main-py-layout-stage-5": Job("broken-main-py-5", 5, stage_1_with(renamed_to_main), args=("--no-browser",)),
}


@pytest.mark.parametrize("job", [pytest.param(j, id=k) for k, j in BROKEN.items()])
def test_an_app_that_cannot_load_gets_one_failure_and_the_rest_not_run(gradings, job):
    graded = result(gradings, job)
    assert graded.returncode == 1, graded.describe()
    assert graded.seconds < QUICK, f"A verdict should come in under {QUICK} s. {graded.describe()}"
    loads = graded.check(APP_LOADS)
    assert loads and loads["status"] == "fail" and loads["reason"], graded.describe()
    others = [c for c in graded.verdict["checks"] if c["name"] != APP_LOADS]
    assert others and all(c["status"] == "not run" for c in others), (
        f"Every other check should be NOT RUN, not a cascade of failures: {graded.statuses()}"
    )
    assert "NOT RUN" in graded.stdout and f"0 of {len(others) + 1} checks passed" in graded.stdout
    assert "Traceback (most recent call last)" not in graded.stdout + graded.stderr, graded.describe()
    expected = {
        "broken-syntax": "SyntaxError", "broken-raises": "RuntimeError: no config",
        "broken-hangs": "did not finish importing within 3 s", "broken-exits": "exit status 3",
        "broken-main-py": "main.py", "broken-main-py-5": "app/ package",
    }[job.key]
    assert expected in loads["reason"] + loads["details"], f"The reason should say {expected!r}: {loads}"
    if job.key == "broken-main-py":
        assert "rename it to app.py" in graded.stdout, graded.describe()
    if job.key == "broken-main-py-5":
        assert "its code goes into app/__init__.py" in graded.stdout, graded.describe()


SERVES_500 = Job("serves-500", 1, stage_1_with(in_the_view("raise KeyError('lessons')")),
                 args=("--no-browser", "--only", "test_home_page_says_hello", "--only", "test_a_page_with_no_route_is_not_found"))


@pytest.mark.parametrize("job", [pytest.param(SERVES_500, id="serves-500")])
def test_an_app_that_serves_500s_fails_those_checks_with_the_error_and_its_line(gradings, job):
    graded = result(gradings, job)
    assert graded.returncode == 1 and graded.seconds < QUICK, graded.describe()
    home = graded.check("test_home_page_says_hello")
    assert home["status"] == "fail", graded.describe()
    assert "KeyError" in home["reason"] and "app.py, line" in home["reason"], home
    assert "traceback in the terminal" in home["hint"], home
    assert graded.check("test_a_page_with_no_route_is_not_found")["status"] == "pass"
    assert "Traceback (most recent call last)" not in graded.stdout, graded.describe()
    assert "why:" in graded.stdout and "hint:" in graded.stdout


HANGS_IN_A_REQUEST = Job("hangs-in-request", 1, stage_1_with(in_the_view("import time; time.sleep(600)")),
                         args=("--no-browser", "--check-timeout", "2", "--only", "test_home_page_says_hello"))
STOPPED_AT_THE_LIMIT = Job("time-limit", 1, stage_1_with(in_the_view("import time; time.sleep(600)")),
                           args=("--no-browser", "--time-limit", "8"))


@pytest.mark.parametrize("job", [pytest.param(HANGS_IN_A_REQUEST, id="one-check"),
                                 pytest.param(STOPPED_AT_THE_LIMIT, id="whole-run")])
def test_a_check_that_hangs_is_stopped_at_its_time_limit(gradings, job):
    graded = result(gradings, job)
    assert graded.returncode == 1 and graded.seconds < QUICK, graded.describe()
    home = graded.check("test_home_page_says_hello")
    if job is HANGS_IN_A_REQUEST:
        assert home["status"] == "fail", graded.describe()
        assert home["reason"] == "did not finish within 2 s (the time limit of one check)", home
    else:  # on a slow machine the run may be stopped before the check even started
        assert home["status"] in ("fail", "not run") and "time limit" in home["reason"], graded.describe()
        assert "stopped at its time limit (8 s)" in graded.stdout, graded.describe()
        assert graded.check("test_a_page_with_no_route_is_not_found")["status"] == "not run"


NEVER_ENDING_THREAD = Job("never-ending-thread", 1, stage_1_with(appended(
    "\nimport threading, time\nthreading.Thread(target=time.sleep, args=(600,)).start()\n")),
    args=("--no-browser", "--only", "test_home_page_says_hello", "--finish-grace", "2"))


@pytest.mark.parametrize("job", [NEVER_ENDING_THREAD], ids=str)
def test_an_app_whose_thread_never_ends_is_still_graded_and_stopped(gradings, job):
    # The app runs as the app host's servers, which are stopped with each check: its thread can
    # keep neither the checks nor the grading from ending.
    graded = result(gradings, job)
    assert graded.returncode == 0 and graded.seconds < QUICK, graded.describe()


def snapshot(folder):
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else None)
            for p in sorted(Path(folder).rglob("*"))}


def grade_into_files(workdir):
    folder = stage_1_with(in_the_view("raise KeyError('lessons')"))(workdir)
    before = snapshot(folder)
    junit, summary = workdir / "out.xml", workdir / "out.json"
    ran = run_bounded([sys.executable, str(GRADE), "1", "--dir", str(folder), "--no-browser",
                       "--junit", str(junit), "--json", str(summary)])
    return ran, before, snapshot(folder), junit, summary


@pytest.mark.parametrize("job", [Job("files", task=grade_into_files)], ids=str)
def test_grading_never_changes_the_folder_and_writes_junit_and_json(gradings, job):
    (code, out, err, _), before, after, junit, summary = result(gradings, job)
    assert code == 1, out + err
    assert after == before, "Grading must not change the student's folder (no __pycache__, no logs)"
    verdict = json.loads(summary.read_text(encoding="utf-8"))
    suite = ET.parse(junit).getroot().find("testsuite")
    assert int(suite.get("tests")) == verdict["total"] == len(suite.findall("testcase"))
    assert int(suite.get("failures")) == verdict["failed"] == len(suite.findall("testcase/failure")) == 2
    failure = suite.find("testcase/failure")
    assert "KeyError" in failure.get("message") and "Hint:" in failure.text
    assert {"stage", "ok", "passed", "total", "checks"} <= set(verdict) and verdict["ok"] is False
    assert all({"id", "name", "description", "status", "reason", "hint"} <= set(c) for c in verdict["checks"])


def cannot_grade(workdir):
    return (run_bounded([sys.executable, str(GRADE), "1", "--dir", str(workdir / "nowhere")]),
            run_bounded([sys.executable, str(GRADE), "9"]))


@pytest.mark.parametrize("job", [Job("cannot-grade", task=cannot_grade)], ids=str)
def test_the_grader_says_plainly_when_it_cannot_grade(gradings, job):
    (code, out, err, _), (code9, out9, err9, _) = result(gradings, job)
    assert code == 2 and "There is no folder at" in err, out + err
    assert code9 == 2 and "01_hello" in err9 and "Traceback" not in err9, out9 + err9


@pytest.mark.parametrize("name, expected", [
    ("test_empty_message_shows_an_error", "empty message shows an error"),
    ("test_times_is_kept[10]", "times is kept (10)"),
])
def test_a_check_is_described_by_its_name_in_words(name, expected):
    from grade import describe  # noqa: PLC0415 (only this test needs the grader's internals)
    assert describe(name, "") == expected
    assert describe(name, "\n    A page that says so.\n\n    More.").startswith("A page that says so")


@pytest.mark.parametrize("function, reason, says, never", [
    ("test_login_page_shows_the_form_with_a_csrf_token",
     "GET /login should show the login form (200), but answered 404", "No route answered", "hidden_tag"),
    ("test_a_post_without_the_csrf_token_is_refused_and_flashes_nothing",
     "A POST without the CSRF token should be refused with 400 Bad Request, but got 404", "No route", "CSRFProtect"),
    ("test_an_unknown_role_is_not_found", "GET /nobody should be not found (404), but answered 200",
     "any(user, attendant)", "No route"),
    ("test_home_page_says_hello", "GET / answered 500", "traceback", "No route"),
])
def test_a_hint_names_the_failure_first_then_the_checks_own_advice(function, reason, says, never):
    from grade import Check, hint_for  # noqa: PLC0415 (the grader is imported only where a test needs it)
    check = Check(id=f"x::{function}", name=function, function=function, description=function, reason=reason)
    hint = hint_for(check, 4)
    assert says in hint and never not in hint, hint


# --- the student's loop ------------------------------------------------------------------

def exercise_loop(workdir):
    exercises = workdir / "exercises"
    start = [sys.executable, str(EXERCISE), "--exercises", str(exercises), "start", "2"]
    copy = exercises / STAGES[2]
    steps = {"first": run_bounded(start)}
    steps["copied"] = (copy / "app.py").read_bytes()
    (copy / "app.py").write_text("# my work\n", encoding="utf-8")
    steps["again"] = run_bounded(start)
    steps["kept"] = (copy / "app.py").read_text(encoding="utf-8")
    shutil.rmtree(copy)
    steps["restart"] = run_bounded(start)
    # Three gradings that only read the copy: at once. One check each is enough for what is asserted.
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="exercise") as pool:
        graded = {
            "grade": pool.submit(run_bounded, [sys.executable, str(GRADE), "2", "--exercises", str(exercises),
                                               "--no-browser", "--only", "test_home_and_about_pages_answer"]),
            "progress": pool.submit(run_bounded, [sys.executable, str(EXERCISE), "--exercises", str(exercises),
                                                  "progress", "--no-browser"]),
            "no-exercise": pool.submit(run_bounded, [sys.executable, str(GRADE), "1", "--exercises",
                                                     str(workdir / "none"), "--no-browser",
                                                     "--only", "test_home_page_says_hello"]),
        }
    steps.update({step: future.result() for step, future in graded.items()})
    steps["copy"] = copy
    return steps


@pytest.mark.parametrize("job", [Job("exercise", task=exercise_loop)], ids=str)
def test_exercise_copies_the_stage_before_refuses_to_overwrite_and_progress_reports(gradings, job):
    steps = result(gradings, job)
    code, out, err, _ = steps["first"]
    assert code == 0 and "make grade 2" in out and f"{STAGES[2]}/README.md" in out, out + err
    assert steps["copied"] == (stage_dir(1) / "app.py").read_bytes(), "Exercise 2 should start as stage 1"
    code, out, err, _ = steps["again"]
    assert code != 0 and "already exists" in err, out + err
    assert steps["kept"] == "# my work\n", "An exercise must never be overwritten"
    assert steps["restart"][0] == 0
    code, out, err, _ = steps["grade"]
    assert code == 1 and "your exercise copy" in out and str(steps["copy"]) in out, out + err
    code, out, err, _ = steps["progress"]
    assert code == 0, out + err
    lines = {int(line.split()[0]): line for line in out.splitlines() if re.match(r"\s+\d ", line)}
    assert set(lines) == set(STAGES), out
    assert "not started" in lines[1] and "not started" in lines[3], out
    assert re.search(r"\d+ of \d+ checks pass", lines[2]), out
    code, out, err, _ = steps["no-exercise"]
    assert code == 0 and "the repo's own stage" in out, out + err


# A full grading of stage 1, its browser check included (the same run as stage 1's full marks).
@pytest.mark.parametrize("job", [pytest.param(MAKE_GRADE, marks=[pytest.mark.browser] if has_browser_checks(1) else [])],
                         ids=str)
def test_make_grade_takes_the_stage_number_like_make_stage(gradings, job):
    graded = result(gradings, job)
    out, err = graded.stdout, graded.stderr
    assert graded.returncode == 0 and "checks passed" in out and "Nothing to be done" not in out + err, out + err
    assert graded.verdict.get("ok") is True, graded.verdict


def test_make_grade_with_no_such_stage_lists_the_stages():
    code, out, err, _ = run_bounded(["make", "-s", "--no-print-directory", "grade", "12"], timeout=60)
    assert code != 0 and "01_hello" in out + err and "Traceback" not in out + err, out + err


# --- make diff: colour on a terminal, plain when piped -----------------------------------

def test_make_diff_is_coloured_on_a_terminal_and_plain_when_piped():
    command = [sys.executable, str(ROOT / "tools" / "diff_stages.py"), "2"]
    env = {**child_env(), "GIT_PAGER": "cat", "PAGER": "cat", "TERM": "xterm"}
    piped = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert piped.returncode == 0 and "+++ b/02_templates/" in piped.stdout, piped.stderr
    assert "\x1b[" not in piped.stdout, "Piped, the diff should be plain text (no colour codes)"

    controller, terminal = pty.openpty()
    process = subprocess.Popen(command, stdin=terminal, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the diff is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0
    assert b"\x1b[" in shown and b"02_templates" in shown, "On a terminal the diff should be coloured"


# --- a run's record is checked against the checks collected before it -------------------------

def collected(*ids):
    return [{"event": "collected", "id": i, "name": i.split("::")[1], "function": i.split("::")[1]} for i in ids]


def passed(check_id):
    return [{"event": "start", "id": check_id}] + [
        {"event": "report", "id": check_id, "when": when, "outcome": "passed"} for when in ("setup", "call", "teardown")]


@pytest.mark.parametrize("run, why", [
    (collected("t.py::test_a", "t.py::test_b") + passed("t.py::test_a") + passed("t.py::test_forged"), "never collected"),
    (collected("t.py::test_a", "t.py::test_extra") + passed("t.py::test_a") + passed("t.py::test_b"), "other checks"),
    (collected("t.py::test_a") + passed("t.py::test_a"), "other checks"),
    ([{"event": "collected_ids", "ids": ["t.py::test_b", "t.py::test_renamed"]}] + passed("t.py::test_b"), "other checks"),
    (passed("t.py::test_a") + passed("t.py::test_b"), "without saying which"),
], ids=["an-extra-report", "an-extra-check", "a-missing-check", "a-renamed-check-in-a-worker", "no-collection"])
def test_a_run_that_reports_other_checks_than_were_collected_is_not_trusted(run, why):
    from grading.checks import RunMismatch, checks_from, expected_checks  # noqa: PLC0415 (the grader's internals)
    expected = expected_checks(collected("t.py::test_a", "t.py::test_b"))
    with pytest.raises(RunMismatch, match=why):
        checks_from(expected, run, limit_hit=False, exit_code=0)
    honest = collected("t.py::test_a", "t.py::test_b") + passed("t.py::test_a")
    statuses = [c.status for c in checks_from(expected_checks(honest), honest, limit_hit=False, exit_code=0)]
    assert statuses == ["pass", "not run"], f"An honest run's record should be read as it is: {statuses}"
