"""Grade a whole class: every folder in SUBMISSIONS, in parallel, each in its own sandbox.

    python tools/grade_all.py 4 --submissions class/ --out grades/ --jobs 2

OUT gets a gradebook (grades.csv: one row per submission, its score and each check's
status), index.html (per-check pass rates, a link to each submission's report), and per
submission, under OUT/submissions/<its name>/: verdict.json, junit.xml, report.txt (the
scorecard) and browser/ (the failing browser checks' screenshots). Each submission is
graded by its own `tools/grade.py` process with its own time limit: a hang or a crash
costs that submission alone. Folder names are only ever argv items and file names: no
shell sees them, and the HTML escapes them.

Exit status: 0 when every submission was graded (whatever its score), 1 when some could
not be graded, 2 when nothing could be (no such folder, no submissions).
"""
import csv
import html
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from processes import scrubbed_env, stop_group
from stages import ROOT, STAGES

from .report import plain

GRADE = ROOT / "tools" / "grade.py"
MARGIN = 60  # seconds a grade.py gets beyond its own time limit before it is stopped


def submissions(folder):
    """Every sub-folder of folder (hidden ones left out), by name."""
    return sorted((entry for entry in Path(folder).iterdir()
                   if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith(".")),
                  key=lambda p: p.name)


def grade_one(number, folder, out, hide, time_limit, extra=()):
    """Run tools/grade.py on one submission; a row: name, exit status, verdict (or None), error."""
    out.mkdir(parents=True, exist_ok=True)
    verdict_file, report = out / "verdict.json", out / "report.txt"
    command = [sys.executable, str(GRADE), str(number), "--dir", str(folder),
               "--json", str(verdict_file), "--junit", str(out / "junit.xml"),
               "--artifacts", str(out / "browser"), "--time-limit", f"{time_limit:g}", *extra]
    for path in hide:
        command += ["--hide", str(path)]
    env = {**scrubbed_env(), "NO_COLOR": "1"}
    started = time.monotonic()
    with open(report, "wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env=env, cwd=ROOT, start_new_session=True)
        try:
            code = process.wait(timeout=time_limit + MARGIN)
        except subprocess.TimeoutExpired:
            stop_group(process, signal.SIGKILL)
            code = None
    verdict, error = None, ""
    if code in (0, 1, 2) and verdict_file.is_file():
        try:
            verdict = json.loads(verdict_file.read_text(encoding="utf-8"))
        except ValueError:
            verdict = None
    if code == 2 and verdict is not None:  # the grader's own "could not grade", with its reason
        verdict, error = None, str(verdict.get("could_not_grade") or "")
    if verdict is None and not error:
        text = report.read_text(encoding="utf-8", errors="replace")
        error = (text.split("Cannot grade:", 1)[-1].strip().splitlines() or [""])[0] if "Cannot grade:" in text \
            else ("the grader was stopped at its time limit" if code is None else
                  f"the grader ended with exit status {code}")
    return {"name": folder.name, "code": code, "verdict": verdict, "error": plain(error),
            "seconds": round(time.monotonic() - started, 1), "out": out}


def spreadsheet_safe(text):
    """A cell a spreadsheet shows as text: a leading = + - @ (or tab, CR) would make it a formula."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def safe_row(cells):
    return [spreadsheet_safe(cell) for cell in cells]


def check_names(rows):
    names = []
    for row in rows:
        for check in (row["verdict"] or {}).get("checks", []):
            if check["name"] not in names:
                names.append(check["name"])
    return names


def gradebook(rows):
    names = check_names(rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(safe_row(["submission", "score", "total", "status", "isolated", *names]))
    for row in rows:
        verdict = row["verdict"]
        if verdict is None:
            writer.writerow(safe_row([row["name"], 0, "", f"could not grade: {row['error']}", "", *[""] * len(names)]))
            continue
        statuses = {c["name"]: c["status"] for c in verdict["checks"]}
        writer.writerow(safe_row([row["name"], verdict["passed"], verdict["total"], "graded",
                                  "yes" if verdict.get("isolated") else "NO", *[statuses.get(n, "") for n in names]]))
    return out.getvalue()


def summary_page(number, rows, out):
    names = check_names(rows)
    e = html.escape
    graded = [r for r in rows if r["verdict"]]
    rates = []
    for name in names:
        statuses = [next((c["status"] for c in r["verdict"]["checks"] if c["name"] == name), None) for r in graded]
        ran = [s for s in statuses if s is not None]
        passed = sum(s == "pass" for s in ran)
        rates.append((name, passed, len(ran)))
    lines = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Stage {number} ({e(STAGES[number])}): {len(rows)} submissions</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}.bar{background:#4a4;height:.8em}"
        ".no{color:#b00}</style></head><body>",
        f"<h1>Stage {number} ({e(STAGES[number])})</h1>",
        f"<p>{len(graded)} of {len(rows)} submissions graded; full marks: "
        f"{sum(bool(r['verdict'] and r['verdict']['ok']) for r in rows)}. "
        '<a href="grades.csv">grades.csv</a></p>',
        "<h2>Checks: how many submissions pass each</h2>",
        "<table><tr><th>check</th><th>passed</th><th></th></tr>",
    ]
    for name, passed, total in rates:
        width = round(100 * passed / total) if total else 0
        lines.append(f"<tr><td>{e(name)}</td><td>{passed} of {total}</td>"
                     f'<td style="width:10em"><div class="bar" style="width:{width}%"></div></td></tr>')
    lines += ["</table>", "<h2>Submissions</h2>",
              "<table><tr><th>submission</th><th>score</th><th>report</th><th>note</th></tr>"]
    for row in rows:
        link = "submissions/" + quote(row["name"], safe="")
        verdict = row["verdict"]
        score = f"{verdict['passed']} of {verdict['total']}" if verdict else "-"
        note = ("" if verdict and verdict.get("isolated") else
                "not isolated" if verdict else f"could not grade: {row['error']}")
        lines.append(f'<tr><td>{e(row["name"])}</td><td>{score}</td>'
                     f'<td><a href="{e(link)}/report.txt">report</a> · <a href="{e(link)}/verdict.json">JSON</a></td>'
                     f'<td class="no">{e(note)}</td></tr>')
    lines += ["</table>", "</body></html>", ""]
    return "\n".join(lines)


def grade_all(number, folder, out, jobs=2, time_limit=600, extra=(), progress=print):
    folder, out = Path(folder).resolve(), Path(out).resolve()
    found = submissions(folder)
    (out / "submissions").mkdir(parents=True, exist_ok=True)
    hide = [folder, out]
    printing = threading.Lock()
    # Each grading its share of the cores: processes one submission spins cost that submission alone.
    share = ["--cpus", f"{max(1.0, (os.cpu_count() or 1) / max(1, jobs)):g}"]

    def one(path):
        row = grade_one(number, path, out / "submissions" / path.name, hide, time_limit, [*share, *extra])
        verdict = row["verdict"]
        with printing:
            progress(f"{verdict['passed']:>3} of {verdict['total']:<3}" if verdict else "cannot grade",
                     row["name"] if row["name"].isprintable() else ascii(row["name"]))
        return row

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        rows = list(pool.map(one, found))
    (out / "grades.csv").write_text(gradebook(rows), encoding="utf-8", newline="")
    (out / "index.html").write_text(summary_page(number, rows, out), encoding="utf-8")
    return rows
