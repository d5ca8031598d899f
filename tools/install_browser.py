"""Make sure a Chromium is there for the browser tests (``make browser`` runs this).

    python tools/install_browser.py                  # find or install a Chromium
    python tools/install_browser.py --dry-run        # only say what it would do
    python tools/install_browser.py --dry-run --ignore-system   # ... on a machine without one

The order, from cheapest to most work:

1. a Chromium already on the machine (``CHROMIUM_PATH``, or ``chromium``,
   ``chromium-browser``, ``google-chrome`` on the PATH), or Playwright's own already
   installed (Gradescope's image): nothing to install;
2. running as root on Debian (a fresh CI box): ``apt-get install chromium``; Ubuntu has no
   such package (only a snap), so apt is never asked there;
3. anywhere else (a student's laptop, Ubuntu): ``python -m playwright install chromium``,
   which downloads Playwright's own Chromium into the user's cache.

With ``--stamp FILE`` it remembers what it found, so the next run only checks that the
browser is still there. The browser tests find the same browser with ``find_system_chromium``.
"""
import argparse
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HEADLESS_SHELLS = ("chromium-headless-shell", "chrome-headless-shell")  # the browser tests' first choice
MANAGED = "playwright"  # what the stamp says when Playwright's own Chromium is used


def find_system_chromium():
    """The path of a Chromium installed on the machine, or None."""
    wanted = os.environ.get("CHROMIUM_PATH")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    for name in SYSTEM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def managed_chromium_is_installed():
    """True when ``playwright install chromium`` has already put its browser in place."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (slow; only when no system Chromium)

    with sync_playwright() as playwright:
        return Path(playwright.chromium.executable_path).exists()


def stamp_is_current(stamp):
    """The stamp names a browser that is still there (and no CHROMIUM_PATH overrides it)."""
    if not stamp.is_file():
        return False
    found = stamp.read_text(encoding="utf-8").strip()
    if found == MANAGED:
        return find_system_chromium() is None and managed_chromium_is_installed()
    return found == find_system_chromium()


def run(command, dry_run):
    print("+ " + " ".join(command), flush=True)
    if not dry_run:
        subprocess.run(command, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def can_use_apt():
    return os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get") is not None


def debian():
    """Debian itself, whose apt has chromium and chromium-headless-shell (Ubuntu has neither: a snap)."""
    try:
        return platform.freedesktop_os_release().get("ID") == "debian"
    except OSError:
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stamp", type=Path, help="remember the browser found in this file")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, install nothing")
    parser.add_argument("--ignore-system", action="store_true",
                        help="act as if no Chromium were installed (to check the plan)")
    args = parser.parse_args(argv)

    if args.stamp and not args.dry_run and not args.ignore_system and stamp_is_current(args.stamp):
        return 0

    wanted = os.environ.get("CHROMIUM_PATH")
    if wanted and not os.access(wanted, os.X_OK):
        print(f"CHROMIUM_PATH is {wanted}, which is not a program; fix or unset it.", file=sys.stderr)
        return 1
    found = None if args.ignore_system else find_system_chromium()
    if found:
        print(f"Browser tests will use the Chromium at {found}.")
        result = found
        if can_use_apt() and not any(shutil.which(name) for name in HEADLESS_SHELLS) and debian():
            # Chromium's headless shell runs the tests on about half the CPU; a nicety, not a need.
            try:
                run(["apt-get", "install", "-y", "-qq", "chromium-headless-shell"], args.dry_run)
            except subprocess.CalledProcessError:
                print("(Debian's chromium-headless-shell could not be installed; the tests use chromium.)")
    elif not args.ignore_system and managed_chromium_is_installed():
        print("Browser tests will use Playwright's own Chromium, already installed.")
        result = MANAGED
    elif can_use_apt() and debian():
        print("No Chromium found; installing Debian's chromium package (about a minute) ...", flush=True)
        run(["apt-get", "update"], args.dry_run)
        # With its headless shell, which the browser tests prefer: about half the CPU of chromium.
        run(["apt-get", "install", "-y", "chromium", "chromium-headless-shell"], args.dry_run)
        result = "/usr/bin/chromium" if args.dry_run else find_system_chromium()
        if not result:
            print("apt-get installed chromium, but no chromium is on the PATH.", file=sys.stderr)
            return 1
    else:
        print("No Chromium found; downloading Playwright's Chromium (needs internet) ...", flush=True)
        run([sys.executable, "-m", "playwright", "install", "chromium"], args.dry_run)
        result = MANAGED

    if args.stamp and not args.dry_run:
        args.stamp.write_text(result + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as error:
        sys.exit(f"Installing the browser failed: {' '.join(error.cmd)} exited with {error.returncode}.")
