"""The first program in the checks' sandbox: it finishes the sandbox, then becomes the checks.

    inside.py [--no-symlinks DIR] [--loopback] [--user UID [--owns DIR]] [--copy PRISTINE COPY] -- python -m pytest ...

--no-symlinks DIR  remount DIR (the app's writable area, a tmpfs of its own) `nosymfollow`:
                   no process of the checks follows a symlink there, so nothing the app plants
                   can turn a check's write or read into one elsewhere. It takes CAP_SYS_ADMIN
                   in the sandbox's own user namespace (bubblewrap's --cap-add); every capability
                   is gone before the checks start.
--loopback         bring the network namespace's loopback up (`unshare --net` leaves it down;
                   bubblewrap brings it up itself).
--user UID         become UID (nobody) for good before anything else runs, with util-linux's setpriv:
                   no capability, no supplementary group, and no_new_privs, so no setuid program
                   gives root back. For a grader that runs as root: the sandbox is then root's
                   (no user namespace), and the checks and the app are a real user who owns nothing.
--owns DIR         first make DIR (the app's writable area, a tmpfs) UID's.
--copy P C         copy the submission as handed in (P, which the app never sees) to C, the copy
                   the app runs from, before any of its code runs.
"""
import argparse
import ctypes
import fcntl
import os
import shutil
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_NOSYMFOLLOW = 2, 4, 8, 32, 4096, 256
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
ST_RELATIME = 4096
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

_libc = ctypes.CDLL(None, use_errno=True)


def _fail(what):
    error = ctypes.get_errno()
    raise OSError(error, f"{what}: {os.strerror(error)}")


def no_symlinks(folder):
    """Remount folder nosymfollow, in a mount namespace of this process's own."""
    if _libc.unshare(CLONE_NEWNS) != 0:
        _fail("unshare(CLONE_NEWNS)")
    flags = os.statvfs(folder).f_flag
    kept = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)  # locked: must stay
    kept |= MS_RELATIME if flags & ST_RELATIME else 0
    if _libc.mount(None, os.fsencode(folder), None, MS_REMOUNT | MS_BIND | MS_NOSYMFOLLOW | kept, None) != 0:
        _fail(f"remounting {folder} nosymfollow")


def loopback_up():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(probe, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(probe, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def drop_capabilities():
    """No capability survives the exec below (the checks run as an ordinary user of the sandbox)."""
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def main(argv):
    split = argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-symlinks")
    parser.add_argument("--loopback", action="store_true")
    parser.add_argument("--user", type=int)
    parser.add_argument("--owns")
    parser.add_argument("--copy", nargs=2)
    args, command = parser.parse_args(argv[:split]), argv[split + 1:]
    if args.no_symlinks:
        no_symlinks(args.no_symlinks)
    if args.loopback:
        loopback_up()
    if args.user is not None:
        if args.owns:
            os.chown(args.owns, args.user, args.user)
        rest = ["--copy", *args.copy] if args.copy else []
        os.execvp("setpriv", ["setpriv", f"--reuid={args.user}", f"--regid={args.user}", "--clear-groups",
                              "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
                              sys.executable, __file__, *rest, "--", *command])
    drop_capabilities()
    if args.copy:
        shutil.copytree(args.copy[0], args.copy[1], symlinks=True)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
