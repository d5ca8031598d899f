"""`make bench`: the stage 07 chat under load, next to a Node.js socket.io@4 server.

    python bench/loadgen.py                      # everything, about 4 minutes
    python bench/loadgen.py --quick              # shorter runs, to try things out
    python bench/loadgen.py --targets gevent,node
    python bench/loadgen.py --median bench/results/*.json   # medians of saved runs

Three servers, one at a time, each on 127.0.0.1 with its own empty log folder:

- threading: stage 07 as the lesson runs it (`flask --app app run`, Werkzeug
  threads, WebSocket through simple-websocket);
- gevent: the production way (gunicorn, one gevent-websocket worker);
- node: bench/node/server.js, the same chat on socket.io@4 (the reference).

The same load generator drives each: bench/node/clients.js processes holding
real Socket.IO clients (socket.io-client@4, WebSocket transport), told what to
do by this script. Figures:

- N = 2, 10, 50, 200 clients in one chat session.
  latency: one client sends, the next message leaves when its own copy is back;
  p50/p99 from send to arrival at every *other* client.
  throughput: min(N, 10) clients each keep WINDOW messages in flight; deliveries/s
  counts arrivals at the other clients of messages sent in the measured window.
- classroom: 30 sessions of a user and an attendant, each sending about one
  message a second for 30 s: p99 latency, lost copies, every session log complete.
- idle: 1,000 connected clients (500 sessions) doing nothing: server RSS
  (the whole process tree) and server CPU over a few seconds.

Every figure gets its ratio to Node's in the same run. The load generator's own
CPU is printed too: if one of its processes nears a full core, it (not the
server) may be the limit, and the table says so.
"""
import argparse
import http.cookiejar
import json
import os
import platform
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil
from werkzeug.security import generate_password_hash

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests")]  # bench uses the tools' and the tests' helpers
from stages import free_port, parse_log_line  # noqa: E402
from support.servers import ChildServer  # noqa: E402

NODE_DIR = BENCH / "node"
RESULTS = BENCH / "results"
STAGE_07 = ROOT / "07_realtime"  # --stage-dir to measure a copy

TARGETS = {
    "threading": "Flask-SocketIO, threading (the lesson: flask run)",
    "gevent": "Flask-SocketIO, gevent (production: gunicorn + gevent-websocket)",
    "node": "Node.js socket.io@4 (reference)",
}


# ---------------------------------------------------------------- processes

def cpu_seconds(pids):
    """User + system CPU time of these processes, in seconds (gone ones count 0)."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def process_tree(pid):
    """pid and all its descendants."""
    try:
        return [pid] + [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return [pid]


def machine_busy_seconds():
    """CPU time every process on the machine spent so far (all cores), idle and iowait not counted."""
    times = psutil.cpu_times()
    busy = ("user", "nice", "system", "irq", "softirq", "steal")  # guest time is inside user
    return sum(getattr(times, name, 0.0) for name in busy)


def rss_mb(pids):
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def sign_in(url, name, password):
    """Sign in as the attendant the way a browser does (the form, its CSRF token); return
    the Cookie header that carries the signed-in Flask session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{url}/signin", timeout=10) as reply:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', reply.read().decode("utf-8"))
    if not token:
        raise RuntimeError(f"{url}/signin has no form with a csrf_token: is the attendant configured?")
    form = urllib.parse.urlencode({"csrf_token": token.group(1), "name": name, "password": password})
    with opener.open(f"{url}/signin", data=form.encode(), timeout=10) as reply:
        if not reply.geturl().endswith("/attendant"):
            raise RuntimeError(f"Signing in as the bench's attendant ended at {reply.geturl()}, not /attendant")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


class Server(ChildServer):
    """One target server in a child process with its own log folder; ``start()`` returns once
    its output says it listens (tests/support/servers.py, the tests' own way to run a server).

    Stage 07 lets a connection join only the chats its browser started, or any chat
    if it is a signed-in attendant. The bench makes its sessions as log files, so
    every client of a Flask target comes in as a bench-only attendant, made up for
    this run: the bench signs in once (self.cookie) and every client sends that cookie."""

    stop_grace = 10  # a server letting go of 1,000 connections takes a while

    def __init__(self, target, log_dir, stage_dir=STAGE_07, profile=False):
        self.target, self.log_dir = target, Path(log_dir)
        self.name = f"The {target} server"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cookie = None  # the signed-in attendant's Cookie header (Flask targets)
        self._attendant = ("bench-attendant", secrets.token_urlsafe())
        env = {"FLASK_LOG_DIR": str(log_dir), "PYTHONUNBUFFERED": "1",
               "FLASK_SECRET_KEY": "bench-only-secret-key",
               # every bench client is one address, and a throughput sender is far over a person's rate
               "FLASK_MESSAGE_RATE": "1000000 per second",
               "FLASK_SOCKETIO_MESSAGE_QUEUE": None,
               "FLASK_ATTENDANT_NAME": self._attendant[0],
               "FLASK_ATTENDANT_PASSWORD_HASH": generate_password_hash(self._attendant[1])}
        if target == "threading":
            env["FLASK_SOCKETIO_ASYNC_MODE"] = "threading"
            self.ready = "Running on http://"
            self._command = [sys.executable, str(ROOT / "tools" / "serve.py"), "7", "--dir", str(stage_dir),
                             "--port", str(self.port), "--no-debug"]
            cwd = stage_dir
        elif target == "gevent":
            env["FLASK_SOCKETIO_ASYNC_MODE"] = "gevent"
            # The worker, not the arbiter: requests wait in the socket's backlog until it runs.
            self.ready = "Booting worker"
            gunicorn = Path(sys.executable).with_name("gunicorn")
            self._command = [str(gunicorn), "--worker-class", "geventwebsocket.gunicorn.workers.GeventWebSocketWorker",
                             "--workers", "1", "--worker-connections", "2000",
                             "--bind", f"127.0.0.1:{self.port}", "app:create_app()"]
            if profile:
                self._command[1:1] = ["--config", str(BENCH / "profile_gunicorn.py")]
            cwd = stage_dir
        else:
            self.ready = "Running on http://"
            self._command = ["node", str(NODE_DIR / "server.js"), "--port", str(self.port),
                             "--log-dir", str(log_dir)]
            cwd = NODE_DIR
        super().__init__(env, cwd)

    def command(self):
        return self._command

    def start(self):
        super().start()
        if self.target != "node":  # the Node reference server has no sign-in (and ignores the cookie)
            try:
                self.cookie = sign_in(self.url, *self._attendant)
            except (OSError, RuntimeError):
                self.stop()
                raise
        return self

    @property
    def recent_output(self):
        return "".join(self.lines[-20:])

    @property
    def pids(self):
        return process_tree(self.pid)


class Workers:
    """Load-generator processes (bench/node/clients.js), driven in lockstep."""

    def __init__(self, url, count, cookie=None):
        env = {**os.environ, "BENCH_COOKIE": cookie or ""}  # not in argv: ps would show it
        self.processes = [
            subprocess.Popen(["node", str(NODE_DIR / "clients.js"), url], cwd=NODE_DIR, env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(count)]

    @property
    def pids(self):
        return [p.pid for p in self.processes]

    def ask(self, commands):
        """Send one command to each worker (a list, one per worker), return their answers."""
        for process, command in zip(self.processes, commands):
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()
        answers = []
        for process in self.processes:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("a load-generator process died; see its output above")
            answers.append(json.loads(line))
        return answers

    def close(self):
        for process in self.processes:
            try:
                process.stdin.write('{"cmd": "close"}\n')
                process.stdin.flush()
            except (BrokenPipeError, OSError):
                pass
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ---------------------------------------------------------------- sessions and logs

class Sessions:
    """Chat sessions made the way the app makes them: a chat_<id>.log file in the log folder."""

    def __init__(self, log_dir):
        self.log_dir = Path(log_dir)
        self.base = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.count = 0
        self.log_reordered = 0

    def new(self):
        self.count += 1
        chat_id = f"{self.base}-{self.count + 1}"
        with open(self.log_dir / f"chat_{chat_id}.log", "x", encoding="utf-8"):
            pass
        return chat_id

    def logged(self, chat_id):
        """(sender key, seq) -> how many times it is in the session's log.

        Also counts, in self.log_reordered, lines that come after a later
        message of the same sender."""
        counts, last = {}, {}
        with open(self.log_dir / f"chat_{chat_id}.log", encoding="utf-8", newline="\n") as log:
            for line in log:
                # The role is not compared: a Flask target logs every bench client as
                # "attendant" (see Server), whatever role the client names in its join.
                _time, _role, text = parse_log_line(line.rstrip("\n"))
                sender, seq, _sent = text.split(" ")
                counts[(sender, int(seq))] = counts.get((sender, int(seq)), 0) + 1
                if int(seq) < last.get(sender, 0):
                    self.log_reordered += 1
                else:
                    last[sender] = int(seq)
        return counts


def spread(items, parts):
    """Deal items round-robin into `parts` lists."""
    return [items[i::parts] for i in range(parts)]


def latency_ms(latencies_us):
    """Median and 99th percentile of latencies in microseconds, in milliseconds."""
    if len(latencies_us) < 2:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    cuts = statistics.quantiles(latencies_us, n=100, method="inclusive")
    return {"p50_ms": cuts[49] / 1000, "p99_ms": cuts[98] / 1000}


class Run:
    """The scenarios against one running server."""

    def __init__(self, server, options):
        self.server, self.options = server, options
        self.sessions = Sessions(server.log_dir)
        self.loadgen_cpu = []  # (total % of a core, max of one process)
        self.other_cpu = []  # % of a core used by other programs during each measured phase
        self.reordered = 0  # copies that arrived before an earlier message of the same sender

    def _workers(self, clients, concurrency=25, count=None):
        count = count or min(self.options.workers, len(clients))
        workers = Workers(self.server.url, count, self.server.cookie)
        answers = workers.ask([{"cmd": "connect", "clients": part, "concurrency": concurrency}
                               for part in spread(clients, count)])
        failed = [f for a in answers for f in a["failed"]]
        if failed:
            workers.close()
            raise RuntimeError(f"{len(failed)} clients could not join, e.g. {failed[:3]}\n"
                               + self.server.recent_output)
        return workers

    def _measure(self, workers, commands):
        """Run one command on every worker; return answers, wall time, server and loadgen CPU."""
        server_pids, worker_pids = self.server.pids, workers.pids
        server_before = cpu_seconds(server_pids)
        workers_before = [cpu_seconds([p]) for p in worker_pids]
        machine_before = machine_busy_seconds()
        started = time.monotonic()
        answers = workers.ask(commands)
        wall = time.monotonic() - started
        server_cpu = (cpu_seconds(server_pids) - server_before) / wall * 100
        per_worker = [(cpu_seconds([p]) - b) / wall * 100 for p, b in zip(worker_pids, workers_before)]
        machine = (machine_busy_seconds() - machine_before) / wall * 100
        self.loadgen_cpu.append((sum(per_worker), max(per_worker)))
        # what the rest of the machine took meanwhile: other programs compete for the cores
        self.other_cpu.append(max(0.0, machine - server_cpu - sum(per_worker)))
        return answers, server_cpu, sum(per_worker)

    def _collect(self, workers):
        reports = workers.ask([{"cmd": "report", "quiet_ms": 300, "cap_ms": 20000}] * len(workers.processes))
        latency, sent_at, copies, disconnected = [], [], {}, 0
        self.reordered += sum(report["reordered"] for report in reports)
        for report in reports:
            latency += report["latency"]
            sent_at += report["sentAt"]
            for key, count in report["copies"].items():
                copies[key] = copies.get(key, 0) + count
            disconnected += report["disconnected"]
            if report["errors"]:
                raise RuntimeError(f"chat_error from the server: {report['errors'][:3]}")
        return latency, sent_at, copies, disconnected

    def one_session(self, n):
        o = self.options
        chat_id = self.sessions.new()
        # "role" is for the Node server; a Flask target ignores it (all are attendants, see Server)
        clients = [{"key": f"c{i}", "chat_id": chat_id, "role": "user" if i == 0 else "attendant"}
                   for i in range(n)]
        # even for N = 2 the clients are in two processes: one would be near a full core
        workers = self._workers(clients[:-1], count=min(self.options.workers, n))
        # the latency probe joins last, so it is last in the room: its own copy
        # coming back means the message went out to everybody before it
        probe = clients[-1]
        target = len(workers.processes) - 1
        workers.ask([{"cmd": "connect", "clients": [probe] if i == target else []}
                     for i in range(len(workers.processes))])
        expected = {}  # message id -> copies every client should get

        def send(senders_by_worker, duration):
            answers, server_cpu, loadgen_cpu = self._measure(
                workers, [{"cmd": "send", "senders": s, "duration_ms": duration} for s in senders_by_worker])
            sent = {}
            for answer in answers:
                sent.update(answer["sent"])
            for key, (first, last, _t0, _t1) in sent.items():
                for seq in range(first, last + 1):
                    expected[f"{key}:{seq}"] = n
            return sent, server_cpu, loadgen_cpu

        # latency: one message in flight
        probe_senders = [[{"key": probe["key"], "window": 1}] if i == target else []
                         for i in range(len(workers.processes))]
        send(probe_senders, o.latency_ms)
        latency, _, copies_a, _ = self._collect(workers)
        # throughput: min(n, 10) senders, WINDOW in flight each
        senders = [{"key": c["key"], "window": o.window} for c in clients[:min(n, 10)]]
        by_worker = [[] for _ in workers.processes]
        for i, sender in enumerate(senders):
            by_worker[i % len(by_worker)].append(sender)
        sent, server_cpu, loadgen_cpu = send(by_worker, o.throughput_ms)
        _lat, sent_at, copies_b, disconnected = self._collect(workers)
        workers.close()
        start = min(t0 for _f, _l, t0, _t1 in sent.values()) + o.warmup_ms * 1000
        end = max(t1 for _f, _l, _t0, t1 in sent.values())
        counted = sum(1 for t in sent_at if start <= t <= end)
        copies = {k: copies_a.get(k, 0) + copies_b.get(k, 0) for k in expected}
        lost = sum(max(0, want - copies[k]) for k, want in expected.items())
        logged = self.sessions.logged(chat_id)
        log_ok = all(logged.get((k.split(":")[0], int(k.split(":")[1])), 0) == 1 for k in expected) \
            and len(logged) == len(expected)
        return {
            **latency_ms(latency),
            "deliveries_per_s": counted / ((end - start) / 1e6),
            "server_cpu": server_cpu, "loadgen_cpu": loadgen_cpu,
            "lost": lost, "disconnected": disconnected, "log_complete": log_ok,
            "messages": len(expected),
        }

    def classroom(self):
        o = self.options
        clients = []
        chat_ids = [self.sessions.new() for _ in range(o.classroom_sessions)]
        for s, chat_id in enumerate(chat_ids):
            clients.append({"key": f"u{s}", "chat_id": chat_id, "role": "user"})
            clients.append({"key": f"a{s}", "chat_id": chat_id, "role": "attendant"})
        workers = self._workers(clients)
        parts = spread(clients, len(workers.processes))
        answers, server_cpu, loadgen_cpu = self._measure(workers, [
            {"cmd": "send", "senders": [{"key": c["key"], "interval_ms": 1000} for c in part],
             "duration_ms": o.classroom_ms} for part in parts])
        latency, _sent_at, copies, disconnected = self._collect(workers)
        workers.close()
        sent = {}
        for answer in answers:
            sent.update(answer["sent"])
        expected = {f"{key}:{seq}" for key, (first, last, _a, _b) in sent.items()
                    for seq in range(first, last + 1)}
        lost = sum(max(0, 2 - copies.get(k, 0)) for k in expected)
        complete = 0
        for s, chat_id in enumerate(chat_ids):
            logged = self.sessions.logged(chat_id)
            want = {(key, seq) for key in (f"u{s}", f"a{s}") if key in sent
                    for seq in range(sent[key][0], sent[key][1] + 1)}
            complete += set(logged) == want and all(v == 1 for v in logged.values())
        return {
            **latency_ms(latency),
            "messages": len(expected), "lost": lost, "disconnected": disconnected,
            "logs_complete": complete, "sessions": len(chat_ids),
            "server_cpu": server_cpu, "loadgen_cpu": loadgen_cpu,
        }

    def idle(self):
        o = self.options
        clients = []
        for s in range(o.idle // 2):
            chat_id = self.sessions.new()
            clients.append({"key": f"u{s}", "chat_id": chat_id, "role": "user"})
            clients.append({"key": f"a{s}", "chat_id": chat_id, "role": "attendant"})
        started = time.monotonic()
        workers = self._workers(clients, concurrency=20)
        connect_s = time.monotonic() - started
        time.sleep(1)  # let the joins settle
        pids = self.server.pids
        before, t0 = cpu_seconds(pids), time.monotonic()
        time.sleep(o.idle_ms / 1000)
        idle_cpu = (cpu_seconds(pids) - before) / (time.monotonic() - t0) * 100
        rss = rss_mb(pids)
        _lat, _s, _c, disconnected = self._collect(workers)
        workers.close()
        return {"rss_mb": rss, "idle_cpu": idle_cpu, "connect_s": connect_s,
                "disconnected": disconnected, "connections": len(clients)}


def settle(servers, quiet_percent=5, cap_s=30):
    """Wait until no server is still busy with the last scenario (e.g. 1,000 clients
    leaving), so it does not take CPU from the next one's measurement."""
    pids = [pid for server in servers for pid in server.pids]
    started = time.monotonic()
    while time.monotonic() - started < cap_s:
        before = cpu_seconds(pids)
        time.sleep(0.5)
        if (cpu_seconds(pids) - before) / 0.5 * 100 < quiet_percent:
            break
    waited = time.monotonic() - started
    if waited > 2:
        print(f"    (waited {waited:.0f} s for the servers to go quiet)", flush=True)


def run_all(targets, options):
    """Every scenario on every target, scenario by scenario.

    All servers are started first and sit idle while another one is measured; each
    scenario then runs on the targets back to back (the order turning from one
    scenario to the next), so whatever else the machine is doing weighs on all
    of them alike, and the ratios stay fair.
    """
    folders, servers, runs = [], {}, {}
    results = {t: {} for t in targets}
    try:
        for target in targets:
            folders.append(tempfile.TemporaryDirectory(prefix=f"bench-{target}-"))
            servers[target] = Server(target, folders[-1].name, options.stage_dir, options.profile).start()
            runs[target] = Run(servers[target], options)
            results[target]["rss_start_mb"] = rss_mb(servers[target].pids)
        scenarios = [(f"n{n}", f"{n} clients in one session", lambda run, n=n: run.one_session(n))
                     for n in options.sizes]
        if "classroom" in options.scenarios:
            scenarios.append(("classroom", "classroom (30 sessions x 2, 1 msg/s each)",
                              lambda run: run.classroom()))
        if "idle" in options.scenarios:
            scenarios.append(("idle", f"{options.idle} idle connections", lambda run: run.idle()))
        for i, (key, label, scenario) in enumerate(scenarios):
            order = targets[i % len(targets):] + targets[:i % len(targets)]
            for target in order:
                settle(servers.values())
                print(f"  {label}: {target} ...", flush=True)
                results[target][key] = scenario(runs[target])
                if key == "idle":
                    # The last scenario. A server letting go of 1,000 connections stays busy
                    # for a while (threading mode for up to a minute) and would slow the
                    # next target's connections: it has nothing left to do, so stop it.
                    servers[target].stop()
        for target in targets:
            run = runs[target]
            results[target]["loadgen_cpu_max_process"] = max((m for _t, m in run.loadgen_cpu), default=0)
            results[target]["loadgen_cpu_max_total"] = max((t for t, _m in run.loadgen_cpu), default=0)
            results[target]["other_cpu_mean"] = statistics.fmean(run.other_cpu) if run.other_cpu else 0
            results[target]["reordered"] = run.reordered
            results[target]["log_reordered"] = run.sessions.log_reordered
        return results
    finally:
        for server in servers.values():
            server.stop()
        for folder in folders:
            folder.cleanup()


# ---------------------------------------------------------------- the table

# (label, how to get the figure from a target's result, format, True if lower is better)
def rows(sizes):
    out = []
    for n in sizes:
        out += [
            (f"N={n}: latency p50 (ms)", lambda r, n=n: r[f"n{n}"]["p50_ms"], "{:.2f}", True),
            (f"N={n}: latency p99 (ms)", lambda r, n=n: r[f"n{n}"]["p99_ms"], "{:.2f}", True),
            (f"N={n}: deliveries/s", lambda r, n=n: r[f"n{n}"]["deliveries_per_s"], "{:,.0f}", False),
            (f"N={n}: server CPU % (load)", lambda r, n=n: r[f"n{n}"]["server_cpu"], "{:.0f}", None),
            # CPU time per delivery does not depend on how much of the machine the server got
            (f"N={n}: server CPU us per delivery", lambda r, n=n: r[f"n{n}"]["server_cpu"] * 1e4
             / r[f"n{n}"]["deliveries_per_s"], "{:.1f}", True),
            (f"N={n}: loadgen CPU % (load)", lambda r, n=n: r[f"n{n}"]["loadgen_cpu"], "{:.0f}", None),
        ]
    out += [
        ("classroom: latency p50 (ms)", lambda r: r["classroom"]["p50_ms"], "{:.2f}", True),
        ("classroom: latency p99 (ms)", lambda r: r["classroom"]["p99_ms"], "{:.2f}", True),
        ("classroom: messages sent", lambda r: r["classroom"]["messages"], "{:.0f}", None),
        ("classroom: copies lost", lambda r: r["classroom"]["lost"], "{:.0f}", None),
        ("classroom: session logs complete", lambda r: r["classroom"]["logs_complete"], "{:.0f}/30", None),
        ("idle 1,000: server RSS (MB)", lambda r: r["idle"]["rss_mb"], "{:.0f}", True),
        ("idle 1,000: server CPU %", lambda r: r["idle"]["idle_cpu"], "{:.1f}", True),
        ("idle 1,000: time to connect (s)", lambda r: r["idle"]["connect_s"], "{:.1f}", True),
        ("server RSS at start (MB)", lambda r: r["rss_start_mb"], "{:.0f}", None),
        ("copies out of their sender's order", lambda r: r["reordered"], "{:.0f}", None),
        ("log lines out of their sender's order", lambda r: r["log_reordered"], "{:.0f}", None),
        ("loadgen: busiest process, max CPU %", lambda r: r["loadgen_cpu_max_process"], "{:.0f}", None),
        ("other programs on the machine, CPU %", lambda r: r["other_cpu_mean"], "{:.0f}", None),
    ]
    return out


def table(results, sizes, title):
    targets = [t for t in TARGETS if t in results]
    node = results.get("node")
    header = ["figure"]
    for t in targets:
        header += [t] if t == "node" else [t, "x node"]
    lines = []
    for label, get, fmt, _lower in rows(sizes):
        line = [label]
        for t in targets:
            try:
                value = get(results[t])
            except (KeyError, TypeError):
                value = None
            cell = "-" if value is None else fmt.format(value)
            if t == "node":
                line.append(cell)
                continue
            ratio = "-"
            try:
                ref = get(node) if node else None
                if value is not None and ref:
                    ratio = f"{value / ref:.2f}x"
            except (KeyError, TypeError, ZeroDivisionError):
                pass
            line += [cell, ratio]
        lines.append(line)
    widths = [max(len(str(row[i])) for row in [header] + lines) for i in range(len(header))]

    def fmt_row(row):
        return "  ".join(str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i])
                         for i, c in enumerate(row))
    out = [title, "", fmt_row(header), fmt_row(["-" * w for w in widths])]
    for line in lines:
        out.append(fmt_row(line))
    return "\n".join(out)


def targets_verdict(results, sizes):
    """The issue's targets, checked against this run (production mode vs Node)."""
    g, node = results.get("gevent"), results.get("node")
    lines = []
    if g and node:
        for n in [s for s in sizes if s <= 50]:
            p = g[f"n{n}"]["p50_ms"] / node[f"n{n}"]["p50_ms"]
            d = g[f"n{n}"]["deliveries_per_s"] / node[f"n{n}"]["deliveries_per_s"]
            lines.append(f"  N={n}: p50 {p:.2f}x Node (target <= 1.5x) {'met' if p <= 1.5 else 'MISSED'}; "
                         f"deliveries/s {d:.2f}x Node (target >= 0.7x) {'met' if d >= 0.7 else 'MISSED'}")
    if g and "idle" in g:
        rss = g["idle"]["rss_mb"]
        lines.append(f"  1,000 idle connections: {rss:.0f} MB RSS (target < 150 MB) "
                     f"{'met' if rss < 150 else 'MISSED'}")
    for t in results:
        c = results[t].get("classroom")
        if not c:
            continue
        ok = c["lost"] == 0 and c["logs_complete"] == c["sessions"]
        lines.append(f"  classroom, {t}: {c['lost']:.0f} lost, {c['logs_complete']:.0f}/{c['sessions']:.0f}"
                     f" logs complete {'met' if ok else 'MISSED'}")
    for t in results:
        busiest = results[t]["loadgen_cpu_max_process"]
        if busiest > 85:
            lines.append(f"  warning: a load-generator process reached {busiest:.0f}% of a core against "
                         f"{t}; its figures may be limited by the load generator")
    return "Targets (production mode = gevent):\n" + "\n".join(lines) if lines else ""


def median_results(runs):
    """Figure by figure, the median over several saved runs."""
    def merge(values):
        if isinstance(values[0], dict):
            return {k: merge([v[k] for v in values]) for k in values[0] if all(k in v for v in values)}
        if isinstance(values[0], (int, float)) and not isinstance(values[0], bool):
            return statistics.median(values)
        return values[0]
    targets = [t for t in TARGETS if all(t in r["results"] for r in runs)]
    return {t: merge([r["results"][t] for r in runs]) for t in targets}


def describe_machine():
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    versions = {}
    for package in ("flask", "flask-socketio", "python-socketio", "python-engineio", "simple-websocket",
                    "gevent", "gevent-websocket", "gunicorn"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "-"
    socketio_version = "-"
    try:
        socketio_version = json.loads((NODE_DIR / "node_modules" / "socket.io" / "package.json").read_text())["version"]
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, node {node}, "
            f"socket.io {socketio_version}; " + ", ".join(f"{k} {v}" for k, v in versions.items()))


def ensure_node_modules():
    if (NODE_DIR / "node_modules" / "socket.io" / "package.json").is_file() and \
            (NODE_DIR / "node_modules" / "socket.io-client" / "package.json").is_file():
        return
    if not shutil.which("npm"):
        sys.exit("make bench needs Node.js and npm (the reference server and the load generator run on it).")
    print("Installing socket.io and socket.io-client into bench/node/node_modules ...", flush=True)
    command = ["npm", "ci" if (NODE_DIR / "package-lock.json").is_file() else "install",
               "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run(command, cwd=NODE_DIR, check=True)


def raise_open_files_limit(wanted=8192):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="threading,gevent,node",
                        help="comma-separated, from: " + ", ".join(TARGETS))
    parser.add_argument("--sizes", default="2,10,50,200", help="clients in one session")
    parser.add_argument("--scenarios", default="sessions,classroom,idle",
                        help="which parts to run: sessions, classroom, idle")
    parser.add_argument("--stage-dir", type=Path, default=STAGE_07,
                        help="the stage 07 folder to measure (default: the repo's)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the gevent server into bench/results/profile-<pid>.txt")
    parser.add_argument("--nice", type=int, default=0,
                        help="run the bench (servers and load generator) at this priority, e.g. -10 "
                             "on a machine busy with other work (negative values need root)")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2),
                        help="load-generator processes (default: one per core, at least 2)")
    parser.add_argument("--window", type=int, default=4, help="messages in flight per sender (throughput)")
    parser.add_argument("--quick", action="store_true", help="short runs, to try things out")
    parser.add_argument("--median", nargs="+", metavar="RESULT.json",
                        help="print the median table of saved runs instead of running")
    options = parser.parse_args(argv)
    options.stage_dir = options.stage_dir.resolve()
    options.scenarios = options.scenarios.split(",")
    options.sizes = [int(s) for s in options.sizes.split(",")] if "sessions" in options.scenarios else []
    scale = 0.3 if options.quick else 1
    options.latency_ms = int(1500 * scale)
    options.throughput_ms = int(2500 * scale)
    options.warmup_ms = int(500 * scale)
    options.classroom_ms = int(30000 * (0.2 if options.quick else 1))
    options.classroom_sessions = 30
    options.idle = 1000
    options.idle_ms = int(3000 * scale)

    if options.median:
        runs = [json.loads(Path(p).read_text()) for p in options.median]
        results = median_results(runs)
        sizes = runs[0]["sizes"]
        title = (f"Medians of {len(runs)} runs ({', '.join(Path(p).name for p in options.median)})\n"
                 f"{runs[0]['machine']}")
        print(table(results, sizes, title))
        print()
        print(targets_verdict(results, sizes))
        return 0

    targets = [t.strip() for t in options.targets.split(",") if t.strip()]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {unknown}; choose from {list(TARGETS)}")
    ensure_node_modules()
    raise_open_files_limit()
    if options.nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, options.nice)  # children inherit it
        except OSError as error:
            print(f"(could not set priority {options.nice}: {error}; going on without)")
    started = time.monotonic()
    machine = describe_machine()
    for target in targets:
        print(f"  {target}: {TARGETS[target]}")
    results = run_all(targets, options)
    elapsed = time.monotonic() - started
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    title = (f"make bench, {datetime.now():%Y-%m-%d %H:%M}, {elapsed:.0f} s{' (quick)' if options.quick else ''}"
             f"{f', priority {os.getpriority(os.PRIO_PROCESS, 0)}' if options.nice else ''}\n"
             f"{machine}\n"
             f"latency: one sender, one message in flight, p50/p99 over every other client;\n"
             f"deliveries/s: min(N,10) senders x {options.window} in flight, arrivals at the other clients")
    text = table(results, options.sizes, title) + "\n\n" + targets_verdict(results, options.sizes) + "\n"
    print()
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bench-{stamp}.txt").write_text(text, encoding="utf-8")
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(
        {"when": stamp, "machine": machine, "sizes": options.sizes, "quick": options.quick,
         "results": results}, indent=1), encoding="utf-8")
    print(f"Written to bench/results/bench-{stamp}.txt (and .json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
