"""The seven stages: their folders, and how to find one from what a person types.

Used by the Makefile (``python tools/stages.py folder 3``) and by the test suite.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STAGES = {
    1: "01_hello",
    2: "02_templates",
    3: "03_params",
    4: "04_forms",
    5: "05_file_log_chat",
    6: "06_sync_log",
    7: "07_realtime",
}


def listing():
    """The stage table as text, one stage a line."""
    return "\n".join(f"  {n}  {folder}" for n, folder in STAGES.items())


def stage_number(text):
    """Read ``3``, ``03`` or ``03_params`` as stage 3; anything else is a ValueError."""
    text = str(text).strip().rstrip("/")
    if not text:
        raise ValueError(f"Which stage? Give its number, e.g. 3. The stages are:\n{listing()}")
    head = text.split("_", 1)[0]
    if head.isdigit() and int(head) in STAGES:
        if "_" not in text or text == STAGES[int(head)]:
            return int(head)
    raise ValueError(f"There is no stage {text!r}. The stages are:\n{listing()}")


def stage_dir(number):
    return ROOT / STAGES[number]


def main(argv):
    """``folder N`` prints stage N's folder; ``list`` prints the table."""
    if argv[:1] == ["list"]:
        print(listing())
        return 0
    if len(argv) == 2 and argv[0] == "folder":
        try:
            print(STAGES[stage_number(argv[1])])
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        return 0
    print("usage: stages.py list | folder N", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
