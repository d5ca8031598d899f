"""gunicorn settings for `python bench/loadgen.py --profile`: cProfile the gevent worker.

The worker profiles itself from start to exit and writes the 25 functions with
the most time of their own to bench/results/profile-<pid>.txt. With gevent all
greenlets share one thread, so this is the whole server's CPU, greenlet by
greenlet mixed together; good enough to see where the time goes.
"""
import cProfile
import io
import os
import pstats
from pathlib import Path

_profiles = {}


def post_worker_init(worker):
    profile = cProfile.Profile()
    _profiles[os.getpid()] = profile
    profile.enable()


def worker_exit(server, worker):
    profile = _profiles.pop(os.getpid(), None)
    if profile is None:
        return
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"profile-{os.getpid()}.txt").write_text(out.getvalue(), encoding="utf-8")
