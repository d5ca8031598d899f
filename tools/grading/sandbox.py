"""Run a grading child (the checks, the import preflight) in a sandbox, always within a time limit.

The checks' pytest runs in `Sandbox`; the student's app runs apart, in `app_sandbox` inside it
(see tools/grading/app_host.py), so no code of the student's ever shares a process with the checks.

bubblewrap (`bwrap`, Debian's `bubblewrap`, as Flatpak uses it) gives the child:
- a read-only view of the whole machine (the checkout, .venv, the system), with the repo's
  own stage folders, its git data, the student's original folder and the output folders
  hidden behind empty tmpfs mounts, so no solution can be imported and no verdict reached;
- one writable folder, `work`, the checks' own (their home, the failing browser checks' screenshots);
- the app's writable area (`app_area`: the copy the app runs from, pytest's temporary folders with
  the log folders; at APP_AREA, a path that says nothing of grading), a tmpfs of APP_AREA_SIZE
  bytes (the grading's disk quota, gone with the sandbox)
  mounted `nosymfollow` for the checks (tools/grading/inside.py), so no symlink the app plants there
  is ever followed by them;
- the submission as handed in (`readonly`), which the app never sees: the checks that read its files
  read it;
- the record of the checks leaves through a socket the grader hands to pytest (an inherited file
  descriptor): it has no path, so nothing in the sandbox can open or replace it;
- a private /tmp and /dev/shm, no network but its own loopback (--unshare-net);
- its own PID namespace (--unshare-pid, --die-with-parent): when the run ends or is stopped,
  every process it started dies with it, even one that left for a new session;
- when the grader runs as root: no user namespace but a real user, nobody (NOBODY, uid 65534),
  who owns no file of the machine: bubblewrap mounts what root must, then tools/grading/inside.py
  makes the app's area nobody's and becomes nobody with setpriv (no capabilities, no setuid
  program can give any back), so the checks and the app they start run as nobody, and /root and
  /home are empty folders but for the Python and the checkout they need. Not root: its own user
  namespace, the grader's own user inside, no capabilities (there is no other user to become);
- limits on memory and processes (a cgroup when the machine lets us make one, else setrlimit),
  CPU time and file size.

Where bwrap cannot run, util-linux `unshare` gives the PID namespace and no network (but no
read-only root); where neither runs (a laptop), the run is not isolated and the verdict says so.
GRADE_SANDBOX=bwrap|unshare|none forces one.
"""
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

NOBODY = 65534               # nobody: who the checks and the app run as when the grader runs as root
MEMORY_LIMIT = 3 << 30       # bytes for everything a grading starts (browser included)
PROCESS_LIMIT = 1024         # processes and threads of one grading (cgroup pids.max)
NPROC_LIMIT = 4096           # RLIMIT_NPROC, per user, where no cgroup is available
CPU_SECONDS = 900            # RLIMIT_CPU of each process
CPU_PERIOD = 100_000         # microseconds: a cgroup's CPU quota is cpus times this per period
FILE_SIZE_LIMIT = 512 << 20  # the largest file a grading may write
APP_AREA_SIZE = 256 << 20    # bytes the app's copy, its logs and the checks' temporary files may take
APP_TMP_SIZE = 64 << 20      # bytes of the app's own /tmp and /dev/shm
APP_AREA = Path("/tmp/flask-stages")  # the app's area inside the checks' sandbox (their /tmp is theirs alone)
INSIDE = Path(__file__).resolve().parent / "inside.py"
FINISHED_BUT_STUCK = -1000   # exit status of a run that finished its checks but did not exit

KINDS = {
    "bwrap": "isolated with bubblewrap: the app ran as its own servers in a sandbox apart from the "
             "checks, read-only checkout and .venv, a private copy of the folder, no network, "
             "every process stopped at the end",
    "unshare": "partly isolated with unshare: no network and every process stopped at the end, "
               "but the checkout and .venv were NOT read-only (bubblewrap could not run)",
    "none": "NOT isolated: no sandbox (bubblewrap or unshare) could run here, so the graded "
            "code ran with the grader's own permissions; a verdict to trust needs Linux with "
            "bubblewrap (`make sandbox`)",
}


# Who the checks and the app ran as, with bubblewrap: nobody where the grader is root, else the grader's user.
USERS = {True: "as nobody (uid 65534), a user who owns no file of the machine",
         False: "as the grader's own user (not root, so there is no other user to become)"}


def describe(kind, root=None):
    """What a verdict says of its isolation."""
    root = (os.name == "posix" and os.geteuid() == 0) if root is None else root
    return f"{KINDS[kind]}, {USERS[root]}" if kind == "bwrap" else KINDS[kind]


def give_to_nobody(path):
    """path and everything in it owned by NOBODY (links themselves, never what they point to)."""
    path = Path(path)
    os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    if path.is_dir() and not path.is_symlink():
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(folder, name), NOBODY, NOBODY, follow_symlinks=False)


def _works(argv):
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def detect():
    """The best sandbox this machine runs: "bwrap", "unshare" or "none"."""
    forced = os.environ.get("GRADE_SANDBOX", "").strip()
    if forced in KINDS:
        return forced
    root = os.name == "posix" and os.geteuid() == 0
    if shutil.which("bwrap") and _works(
            ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all",
             "--die-with-parent", "true"]):
        return "bwrap"
    if shutil.which("unshare") and _works(
            ["unshare", *([] if root else ["--user", "--map-root-user"]), "--pid", "--fork",
             "--kill-child", "--net", "--mount-proc", "true"]):
        return "unshare"
    return "none"


def _try_write(path, text):
    try:
        path.write_text(text, encoding="ascii")
        return True
    except OSError:
        return False


class Cgroup:
    """A memory, process-count and (with `cpus`) CPU cgroup for one grading, when the machine lets
    us make one. `cpus` cores at most, however many processes it starts, in whatever sessions:
    gradings side by side (grade-all) each keep their share of the machine."""

    def __init__(self, name, cpus=None):
        self.dirs = []
        self.cpu_limited = False
        base = Path("/sys/fs/cgroup")
        quota = str(int(CPU_PERIOD * cpus)) if cpus else None
        try:
            if (base / "cgroup.controllers").is_file():  # cgroup v2, unified
                path = base / f"flask-stages-{name}"
                path.mkdir()
                self.dirs.append(path)
                (path / "memory.max").write_text(str(MEMORY_LIMIT), encoding="ascii")
                (path / "pids.max").write_text(str(PROCESS_LIMIT), encoding="ascii")
                if quota:
                    self.cpu_limited = _try_write(path / "cpu.max", f"{quota} {CPU_PERIOD}")
            else:  # cgroup v1: one hierarchy per controller
                for controller, limit_file, limit in (("memory", "memory.limit_in_bytes", MEMORY_LIMIT),
                                                      ("pids", "pids.max", PROCESS_LIMIT)):
                    path = base / controller / f"flask-stages-{name}"
                    path.mkdir()
                    self.dirs.append(path)
                    (path / limit_file).write_text(str(limit), encoding="ascii")
                if quota and (base / "cpu").is_dir():
                    path = base / "cpu" / f"flask-stages-{name}"
                    try:
                        path.mkdir()
                    except OSError:
                        return
                    self.dirs.append(path)
                    self.cpu_limited = (_try_write(path / "cpu.cfs_period_us", str(CPU_PERIOD))
                                        and _try_write(path / "cpu.cfs_quota_us", quota))
        except OSError:
            self.remove()
            self.dirs = []

    @property
    def active(self):
        return bool(self.dirs)

    def enter(self):  # in the child, before exec
        for path in self.dirs:
            with open(path / "cgroup.procs", "w", encoding="ascii") as procs:
                procs.write(str(os.getpid()))

    def remove(self):
        for path in self.dirs:
            for _ in range(20):
                try:
                    pids = (path / "cgroup.procs").read_text(encoding="ascii").split()
                except OSError:
                    pids = []
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, PermissionError, ValueError):
                        pass
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


# Folders the checks' sandbox replaces with an empty one: (path, mode, only when the checks run as nobody).
# /run holds other programs' sockets: a read-only mount does not stop connect(). /root and /home are
# private to their users (mode 700): nobody could not even reach the Python that lives in one.
PRIVATE = (("/tmp", "1777", False), ("/dev/shm", "1777", False), ("/run", "0755", False),
           ("/root", "0755", True), ("/home", "0755", True))


def private_folders(as_nobody):
    return [(Path(path), mode) for path, mode, nobody_only in PRIVATE if as_nobody or not nobody_only]


def private_folders_needed(private=("/tmp", "/dev/shm", "/run")):
    """The checkout and the Python running the checks, where they live in a folder a sandbox
    replaces with an empty one (`private`): to be shown again, read-only."""
    private = [Path(p) for p in private]
    wanted = {Path(__file__).resolve().parents[2], Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    return sorted(path for path in wanted if any(folder in path.parents for folder in private))


@dataclass
class Sandbox:
    """Where and how grading children run. `work` is the one folder they may write."""
    work: Path
    kind: str = "none"
    hide: list = field(default_factory=list)  # folders (or files) the child must not see
    keep: list = field(default_factory=list)  # folders the child needs: never hidden
    app_area: Path = None                     # the app's writable area (see the module's docstring)
    readonly: list = field(default_factory=list)  # folders shown read-only (the submission as handed in)
    cpus: float = None                        # cores it may use at most (a cgroup's CPU quota), None: all

    @property
    def isolated(self):
        return self.kind == "bwrap"

    @property
    def description(self):
        return describe(self.kind, self.root)

    @property
    def root(self):
        return os.name == "posix" and os.geteuid() == 0

    @property
    def as_nobody(self):
        """The checks and the app run as NOBODY (bubblewrap, and a grader that can switch users)."""
        return self.kind == "bwrap" and self.root

    def prepare(self):
        Path(self.work).mkdir(parents=True, exist_ok=True)
        if self.app_area and self.kind != "bwrap":  # with bubblewrap, a tmpfs inside the sandbox
            Path(self.app_area).mkdir(parents=True, exist_ok=True)

    def inside(self, argv, copy=None):
        """argv, run by tools/grading/inside.py, which finishes the sandbox first (and makes `copy`)."""
        steps = []
        if self.kind == "bwrap" and self.app_area:
            steps += ["--no-symlinks", str(self.app_area)]
        if self.as_nobody:
            steps += ["--user", str(NOBODY), *(["--owns", str(self.app_area)] if self.app_area else [])]
        if self.kind == "unshare":
            steps.append("--loopback")
        if copy:
            steps += ["--copy", *map(str, copy)]
        return [sys.executable, str(INSIDE), *steps, "--", *argv]

    def _hidden(self):
        needed = [Path(p).resolve() for p in [self.work, *self.keep]]
        for path in self.hide:
            path = Path(path)
            if not path.exists() and not path.is_symlink():
                continue
            path = path.resolve()
            if path == Path("/") or any(p == path or path in p.parents for p in needed):
                continue  # hiding it would hide what the checks need
            yield path


    def command(self, argv, env):
        """The command line that runs argv in this sandbox."""
        if self.kind == "bwrap":
            wrapped = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
            private = private_folders(self.as_nobody)
            for path, mode in private:
                if path.is_dir():
                    wrapped += ["--perms", mode, "--tmpfs", str(path)]
            private = [path for path, _ in private]

            def reachable(path):  # the folders on its way open to all (bubblewrap makes them 700)
                return [option for folder in reversed(path.parents) if any(f in folder.parents for f in private)
                        for option in ("--perms", "0755", "--dir", str(folder))]

            for path in private_folders_needed(private):  # a checkout cloned into /tmp, say
                wrapped += [*reachable(path), "--ro-bind", str(path), str(path)]
            for path in self._hidden():
                wrapped += (["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null", str(path)])
            wrapped += [*reachable(Path(self.work)), "--bind", str(self.work), str(self.work), "--chdir", str(self.work)]
            for path in self.readonly:
                wrapped += [*reachable(Path(path)), "--ro-bind", str(path), str(path)]
            if self.app_area:
                wrapped += ["--size", str(APP_AREA_SIZE), "--tmpfs", str(self.app_area)]
            if self.as_nobody:  # root's own namespaces but the user's: inside.py becomes nobody
                wrapped += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
            else:
                wrapped += ["--unshare-all", "--unshare-user"]
            wrapped += ["--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv"]
            # What inside.py needs before the checks start, and gives up then: the nosymfollow remount
            # (CAP_SYS_ADMIN); the app's area made nobody's, and becoming nobody for good.
            if self.app_area:
                wrapped += ["--cap-add", "CAP_SYS_ADMIN"]
            if self.as_nobody:
                for cap in ("CAP_CHOWN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
                    wrapped += ["--cap-add", cap]
            for key, value in env.items():
                wrapped += ["--setenv", key, value]
            return [*wrapped, "--", *argv]
        if self.kind == "unshare":
            return ["unshare", *([] if self.root else ["--user", "--map-root-user"]), "--pid",
                    "--fork", "--kill-child", "--net", "--mount-proc", "--", *argv]
        return list(argv)

    def env(self, env):
        """The child's environment: HOME and the caches in `work`, never in the grader's home."""
        home = Path(self.work) / "home"
        home.mkdir(exist_ok=True)
        return {**env, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
                "XDG_CONFIG_HOME": str(home / ".config"), "TMPDIR": "/tmp"}

    def run(self, argv, timeout, log_path, env, finished=None, grace=10, pass_fds=()):
        """Run argv in the sandbox; its exit status, or None when stopped at the time limit.

        finished() says the work is done even if the process has not exited (a thread the app
        started that never ends): it then gets `grace` seconds before it is stopped, and the
        status is FINISHED_BUT_STUCK. Whatever it started is stopped with it.
        """
        env = self.env(env)
        if self.as_nobody:  # the checks' own folder, and what they read, nobody's
            for path in [self.work, *self.readonly]:
                give_to_nobody(path)
        cgroup = Cgroup(f"{os.getpid()}-{time.monotonic_ns()}", self.cpus) if self.kind != "none" else None
        limits = [(resource.RLIMIT_CPU, CPU_SECONDS), (resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT)]
        if self.kind != "none" and not (cgroup and cgroup.active):
            limits.append((resource.RLIMIT_DATA, MEMORY_LIMIT))
            if not self.root:  # RLIMIT_NPROC counts all of a user's tasks: root's are the machine's
                limits.append((resource.RLIMIT_NPROC, NPROC_LIMIT))

        def preexec():
            if cgroup is not None and cgroup.active:
                cgroup.enter()
            for limit, value in limits:
                try:
                    resource.setrlimit(limit, (value, value))
                except (ValueError, OSError):
                    pass

        deadline = time.monotonic() + timeout
        done_at = None
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                self.command(argv, env), cwd=self.work, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, pass_fds=pass_fds,
                preexec_fn=preexec if os.name == "posix" else None)
            try:
                while True:
                    try:
                        code = process.wait(timeout=0.1)
                        break
                    except subprocess.TimeoutExpired:
                        pass
                    now = time.monotonic()
                    if done_at is None and finished and finished():
                        done_at = now
                    if now > deadline or (done_at and now > done_at + grace):
                        stop_group(process)
                        code = None if not done_at else FINISHED_BUT_STUCK
                        break
            except BaseException:  # Ctrl+C: take the checks' servers and browsers down too
                stop_group(process)
                raise
            finally:
                stop_group(process)  # anything left in its group
                if cgroup is not None:
                    cgroup.remove()
        return code


def stop_group(process):
    if os.name != "posix":
        process.kill()
        process.wait(timeout=5)
        return
    if process.poll() is None:
        for sig, grace in ((signal.SIGTERM, 3), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
    try:  # the leader is gone; stop what is left of its group
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# What running the app needs from the machine besides Python, read-only: programs and libraries,
# the time zones, and files that say who users are and where localhost is (none of them secret).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc/ld.so.cache", "/etc/localtime",
          "/etc/hosts", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf")


def runtime_binds():
    """bubblewrap's options that show the app host what it needs to run, and nothing else: the
    system's programs and libraries, the Python running this (its installation and the virtualenv)
    and tools/ (the app host and its loader). Not the tests, the checkout, /root or /home."""
    options = []
    for name in SYSTEM:
        path = Path(name)
        if path.is_symlink():  # /lib -> usr/lib on a merged /usr
            options += ["--symlink", os.readlink(path), name]
        elif path.exists():
            options += ["--ro-bind", name, name]
    tools = Path(__file__).resolve().parents[1]
    # Each where it lives and where it is reached (a virtualenv linked into place, say).
    places = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).parent.parent, tools}
    for path in sorted(places | {place.resolve() for place in places}):
        if not any(str(path).startswith(system + "/") for system in ("/usr", "/bin", "/lib")):
            options += ["--ro-bind", str(path.resolve()), str(path)]
    return options


def app_sandbox(argv, hide, writable, env=None, readable=()):
    """argv in a bubblewrap sandbox of its own, inside the checks' sandbox: the student's app.

    It shares the checks' network (their private loopback, so the checks reach its servers),
    but nothing else of theirs: its own user and PID namespaces (it can neither see nor signal
    the checks' processes; /proc is an empty folder), only what running it needs, read-only
    (runtime_binds) and the folders in `readable` (the repo's own stages, in `make test`), a
    private /tmp, and only the folders in `writable` (the submission's copy,
    the tests' temporary folders with the log folders) writable. The folders in `hide` are
    behind an empty tmpfs in case a writable folder lies inside one. Its environment is `env`
    alone.
    """
    command = ["bwrap", "--dev", "/dev", "--tmpfs", "/proc", "--size", str(APP_TMP_SIZE), "--tmpfs", "/tmp",
               "--size", str(APP_TMP_SIZE), "--tmpfs", "/dev/shm", *runtime_binds()]  # the runtime may live in /tmp
    for path in readable:
        command += ["--ro-bind", str(path), str(path)]
    for path in hide:
        command += ["--tmpfs", str(path)]
    for path in writable:
        command += ["--bind", str(path), str(path)]
    command += ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--chdir", "/tmp", "--clearenv"]
    for key, value in (env or {}).items():
        command += ["--setenv", key, value]
    return [*command, "--", *argv]
