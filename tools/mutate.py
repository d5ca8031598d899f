"""Mistakes students make, kept as data: make a broken copy of a stage to see the checks catch it.

    python tools/mutate.py list 4                          # stage 4's mutations
    python tools/mutate.py apply 4 csrf-token-left-out /tmp/broken
    python tools/grade.py 4 --dir /tmp/broken              # ... and watch the grader catch it

The data is tests/mutations/stage_0N.toml. Each mutation names a file of the stage,
the exact text to find there (it must occur exactly ``count`` times, default 1), what
to put instead, the checks that must then fail, and why that is a mistake. When a
lesson changes and the text is gone, applying the mutation fails loudly: update the
data with the lesson. `make test` applies every mutation and runs the checks it
names on the copy (tools/mutants_plugin.py; see tests/mutations/README.md).
"""
import argparse
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from stages import ROOT, STAGES, not_copied, stage_dir, stage_number

DATA = ROOT / "tests" / "mutations"
NOT_COPIED = not_copied()


class StaleMutation(Exception):
    """The text a mutation looks for is not (or not exactly count times) in the lesson any more."""


@dataclass
class Mutation:
    stage: int
    id: str
    file: str
    find: str
    replace: str
    fails: list
    why: str
    count: int = 1
    extra: dict = field(default_factory=dict)

    def apply(self, folder):
        """Change the copy in folder; StaleMutation when the lesson no longer has the text."""
        path = Path(folder) / self.file
        where = f"{STAGES[self.stage]}/{self.file}"
        if not path.is_file():
            raise StaleMutation(f"mutation {self.id!r} of stage {self.stage}: there is no {where} "
                                f"any more. The lesson changed: update {self.source}.")
        text = path.read_text(encoding="utf-8")
        found = text.count(self.find)
        if found != self.count:
            raise StaleMutation(
                f"mutation {self.id!r} of stage {self.stage}: {where} should contain this text "
                f"{self.count} time(s) but contains it {found} time(s):\n{self.find}\n"
                f"The lesson changed: update {self.source}.")
        path.write_text(text.replace(self.find, self.replace), encoding="utf-8", newline="")

    @property
    def source(self):
        return f"tests/mutations/stage_{self.stage:02d}.toml"


def data_file(number, folder=DATA):
    return Path(folder) / f"stage_{number:02d}.toml"


def load(number, folder=DATA):
    """(concept checks, mutations) of stage N, from tests/mutations/stage_0N.toml (or folder's)."""
    path = data_file(number, folder)
    if not path.is_file():
        return [], []
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    known = {"id", "file", "find", "replace", "fails", "why", "count"}
    mutations = []
    for entry in data.get("mutation", []):
        missing = {"id", "file", "find", "replace", "fails", "why"} - set(entry)
        if missing:
            raise ValueError(f"{path.name}: mutation {entry.get('id', '?')} lacks {sorted(missing)}")
        mutations.append(Mutation(stage=number, **{k: entry[k] for k in known if k in entry},
                                  extra={k: v for k, v in entry.items() if k not in known}))
    return list(data.get("concept", [])), mutations


def make_mutant(mutation, target):
    """A copy of the mutation's stage in target, with the mutation applied."""
    target = Path(target)
    shutil.copytree(stage_dir(mutation.stage), target, ignore=NOT_COPIED)
    mutation.apply(target)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list a stage's mutations")
    listing.add_argument("stage")
    apply = commands.add_parser("apply", help="copy a stage with one mutation applied")
    apply.add_argument("stage")
    apply.add_argument("mutation")
    apply.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    try:
        number = stage_number(args.stage)
    except ValueError as error:
        parser.exit(2, f"{error}\n")
    _, mutations = load(number)
    if args.command == "list":
        for mutation in mutations:
            print(f"{mutation.id:<34} {mutation.file}: {mutation.why}")
        return 0
    chosen = [m for m in mutations if m.id == args.mutation]
    if not chosen:
        parser.exit(2, f"Stage {number} has no mutation {args.mutation!r}; "
                       f"`python tools/mutate.py list {number}` lists them.\n")
    if args.target.exists():
        parser.exit(2, f"{args.target} exists; give a new folder.\n")
    try:
        make_mutant(chosen[0], args.target)
    except StaleMutation as error:
        shutil.rmtree(args.target, ignore_errors=True)
        parser.exit(1, f"{error}\n")
    print(f"{args.target}: {STAGES[number]} with {chosen[0].id!r} ({chosen[0].file}). "
          f"Grade it: python tools/grade.py {number} --dir {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
