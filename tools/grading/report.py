"""The verdict and its forms: the scorecard, JSON, JUnit and Gradescope's results.json.

Every file here is written by the grader, after the sandbox is gone, to paths the sandbox
could not see. Much of a verdict's text comes from the submission (what its app answered,
printed or logged, its folder's name): a Verdict keeps it as plain text, without the control
characters that would move a terminal's cursor or make XML ill-formed.
"""
import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from .checks import FAIL, NOT_RUN, PASS

LABELS = {PASS: "PASS", FAIL: "FAIL", NOT_RUN: "NOT RUN"}
# C0 and C1 controls but tab and newline, bidirectional overrides, and what XML 1.0 cannot hold.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def plain(text):
    """text with every control character shown as U+FFFD: data, never a command to a terminal."""
    return CONTROL.sub("\ufffd", str(text))
COLOURS = {PASS: "32", FAIL: "31", NOT_RUN: "33"}


@dataclass
class Verdict:
    stage: int
    folder: str
    graded: str
    source: str
    checks: list
    notes: list
    seconds: float
    isolation: str = "none"
    isolation_note: str = ""

    def __post_init__(self):
        for check in self.checks:
            for name in ("id", "name", "function", "description", "reason", "hint", "details"):
                setattr(check, name, plain(getattr(check, name)))
        self.notes = [plain(note) for note in self.notes]
        self.graded, self.source = plain(self.graded), plain(self.source)

    @property
    def passed(self):
        return sum(c.status == PASS for c in self.checks)

    @property
    def ok(self):
        return bool(self.checks) and self.passed == len(self.checks)

    def summary(self):
        failed = sum(c.status == FAIL for c in self.checks)
        not_run = sum(c.status == NOT_RUN for c in self.checks)
        return {
            "stage": self.stage, "folder": self.folder, "graded": self.graded,
            "source": self.source, "ok": self.ok, "passed": self.passed,
            "failed": failed, "not_run": not_run, "total": len(self.checks),
            "seconds": round(self.seconds, 2),
            "isolated": self.isolation == "bwrap", "sandbox": self.isolation,
            "isolation": self.isolation_note, "notes": self.notes,
            "checks": [{k: v for k, v in asdict(c).items() if k != "doc"} for c in self.checks],
        }


def paint(text, status, colour):
    return f"\033[{COLOURS[status]}m{text}\033[0m" if colour else text


def scorecard(verdict, colour=False, quiet=False):
    lines = []
    first_with = {}  # reason -> the first failed check that gave it
    for check in verdict.checks:
        if quiet and check.status == PASS:
            continue
        where = " (in the browser)" if check.browser else ""
        label = paint(f"{LABELS[check.status]:<8}", check.status, colour)
        lines.append(f"  {label} {check.description}{where}")
        if check.status == FAIL and check.id.startswith("grade::") and check.details:
            why = check.details.splitlines()  # the grader's own finding: show all of it
        else:
            why = [check.reason] if check.status != PASS and check.reason else []
        earlier = first_with.get(check.reason) if check.status == FAIL else None
        if earlier:  # one cause, many failures: say it once
            lines.append(f"           why:  the same as for \"{earlier.description}\" above")
            continue
        if check.status == FAIL and check.reason:
            first_with[check.reason] = check
        for number, line in enumerate(why):
            lines.append(f"           {'why:  ' if number == 0 else '      '}{line}")
        if check.status == FAIL and check.hint:
            lines.append(f"           hint: {check.hint}")
    for note in verdict.notes:
        lines.append(f"  note: {note}")
    if verdict.isolation != "bwrap":
        lines.append(f"  WARNING: {verdict.isolation_note}")
    counts = f"{verdict.passed} of {len(verdict.checks)} checks passed"
    extra = []
    failed = sum(c.status == FAIL for c in verdict.checks)
    not_run = sum(c.status == NOT_RUN for c in verdict.checks)
    if failed:
        extra.append(f"{failed} failed")
    if not_run:
        extra.append(f"{not_run} not run")
    lines.append("")
    lines.append(counts + (f" ({', '.join(extra)})" if extra else "") + f" in {verdict.seconds:.1f} s.")
    return "\n".join(lines)


def write_file(path, data):
    """Write data (bytes) to path atomically: a reader sees the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(verdict, path):
    write_file(path, (json.dumps(verdict.summary(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def junit_tree(verdict):
    """JUnit XML of the verdict: one testcase per check, the grader's own included."""
    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite", name=f"stage {verdict.stage} ({verdict.folder})")
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="sandbox", value=verdict.isolation)
    for check in verdict.checks:
        file = check.id.split("::", 1)[0]
        case = ET.SubElement(suite, "testcase", classname=file.removesuffix(".py").replace("/", "."),
                             name=check.name, time=f"{check.duration:.3f}")
        if check.status == FAIL:
            failure = ET.SubElement(case, "failure", message=check.reason)
            failure.text = check.details + (f"\n\nHint: {check.hint}" if check.hint else "")
        elif check.status == NOT_RUN:
            ET.SubElement(case, "skipped", message=check.reason)
    suite.set("tests", str(len(verdict.checks)))
    suite.set("failures", str(sum(check.status == FAIL for check in verdict.checks)))
    suite.set("errors", "0")
    suite.set("skipped", str(sum(check.status == NOT_RUN for check in verdict.checks)))
    return root


def write_junit(verdict, path):
    root = junit_tree(verdict)
    ET.indent(root)
    write_file(path, ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")


def gradescope_results(verdict, points_per_check=1.0):
    """Gradescope's results.json: score, max_score, one test per check (name, status, output)."""
    tests = []
    for check in verdict.checks:
        output = "" if check.status == PASS else "\n".join(filter(None, [
            check.reason, f"Hint: {check.hint}" if check.hint else ""]))
        tests.append({
            "name": check.description + (" (in the browser)" if check.browser else ""),
            "name_format": "text",
            "number": check.name,
            "score": points_per_check if check.status == PASS else 0.0,
            "max_score": points_per_check,
            "status": "passed" if check.status == PASS else "failed",
            "output": output,
            "output_format": "text",
        })
    notes = list(verdict.notes)
    if verdict.isolation != "bwrap":
        notes.append(verdict.isolation_note)
    return {
        "score": points_per_check * verdict.passed,
        "max_score": points_per_check * len(verdict.checks),
        "output": "\n".join(notes) or f"{verdict.passed} of {len(verdict.checks)} checks passed.",
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
