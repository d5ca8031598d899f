"""Every check bites: with ``--mutations DIR`` (tests/mutations, as `make test` gives it), each check
also runs on every copy of its stage that must fail it, and must fail there.

    python -m pytest tests --mutations tests/mutations -k csrf-token-left-out-of-the-template

The copies come from DIR's stage_0N.toml (tools/mutate.py): for each mutation, a copy of stage N
with the mutation applied, made once per pytest process; and, for the checks listed as stage N's
``concept``, stage N-1's folder. A check named there runs on it as another parametrization,
``test_x[<mutation id>]`` (``test_x[stage5-<mutation id>]`` for a check several stages share), and
is marked ``xfail(strict=True, raises=AssertionError)``: it passes only when the check's own
assertion fails. A pass there is XPASS(strict), any other exception (the app cannot start, a
crash, a time limit) a failure, and so (this plugin) is an assertion or a skip outside the check's
own body: none of them proves the check catches the mistake.

The repo's own stages only: a stage tested in another folder (``--stage-dir``) gets no copies.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

from mutate import Mutation, load, make_mutant
from stages import STAGES, stage_dir

_made = {}  # Proof -> its folder, made once per process


@dataclass(frozen=True)
class Proof:
    """A folder of stage `stage` that the checks it names must fail: a mutated copy, or (no
    mutation) the stage before, which lacks the stage's concept."""
    stage: int
    id: str
    why: str
    fails: tuple  # check names; "test_x[case]": only that case of a parametrized check
    mutation: Optional[Mutation] = field(default=None, compare=False)

    def folder(self, tmp_path_factory):
        if self.mutation is None:
            return stage_dir(self.stage - 1)
        if self not in _made:
            _made[self] = make_mutant(self.mutation, tmp_path_factory.mktemp("mutant") / STAGES[self.stage])
        return _made[self]


def pytest_addoption(parser):
    parser.addoption("--mutations", metavar="DIR", type=Path,
                     help="also run each check on the mutated copies of its stage that DIR's stage_0N.toml "
                          "names it for (tests/mutations), where it must fail")


def _proofs(config, number):
    folder = config.getoption("--mutations")
    if folder is None or config.stage_folders.get(number) != stage_dir(number):
        return []
    concept, mutations = load(number, folder)
    proofs = [Proof(number, m.id, m.why, tuple(m.fails), m) for m in mutations]
    if concept and number - 1 in STAGES:
        proofs.append(Proof(number, f"concept-on-{STAGES[number - 1]}", "the stage before lacks its concept",
                            tuple(concept)))
    return proofs


def params(metafunc, stages):
    """The parameters of a check's proofs: (stage, Proof) for each mutated copy, or the stage
    before, that must fail it."""
    if "mutation" not in metafunc.fixturenames:
        return []
    name = metafunc.function.__name__
    return [(number, proof) for number in stages if number in STAGES
            for proof in _proofs(metafunc.config, number) if name in {f.split("[")[0] for f in proof.fails}]


def _proof(item):
    proof = item.callspec.params.get("mutation") if hasattr(item, "callspec") else None
    return proof if isinstance(proof, Proof) else None  # a check's own "mutation" parameter is not one


def pytest_collection_modifyitems(config, items):
    """A mutation that names cases of a parametrized check ("test_x[case]") is proven on those alone."""
    def named(item):
        proof, cases = _proof(item), f"-{item.callspec.id}-" if hasattr(item, "callspec") else ""
        return proof is None or item.originalname in proof.fails or any(
            f.startswith(f"{item.originalname}[") and f"-{f.split('[', 1)[1][:-1]}-" in cases for f in proof.fails)
    dropped = [item for item in items if not named(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if named(item)]


def marks(proof):
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"mutation {proof.id}: {proof.why}")


@pytest.fixture
def mutation():
    """The Proof whose folder this check runs on; None: the stage's own folder."""
    return None


NO_PROOF = "{phase}, which proves nothing about mutation {id}: the check itself must fail on it"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    proof = _proof(item)
    if proof is None:
        return report
    if report.skipped and not hasattr(report, "wasxfail"):
        phase = "skipped"
    elif hasattr(report, "wasxfail") and call.when != "call":
        phase = f"an assertion failed in the check's {call.when}"
    elif hasattr(report, "wasxfail") and "Traceback (most recent call last)" in str(call.excinfo.value):
        phase = "the failure message carries a traceback"
    else:
        return report
    if hasattr(report, "wasxfail"):
        del report.wasxfail
    report.outcome = "failed"
    report.longrepr = NO_PROOF.format(phase=phase.capitalize(), id=proof.id) + f"\n{report.longrepr}"
    return report
