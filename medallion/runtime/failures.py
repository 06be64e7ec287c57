"""What a user sees when something fails: one line on stderr and an exit code, never a traceback.

Every entry point (``medallion ...`` and each ``python -m steps.<stage>``) runs its body through ``run``:

- a known failure (a bad setting, a store error, a failed step): ``error: ...``, exit 1;
- a wrong option or configuration file, found before anything ran (``UsageError``): exit 2;
- an operating-system error (read-only or full disk, a file where a folder belongs, a busy port): the
  path, what the error means and what to do, exit 1;
- Ctrl-C (SIGINT): ``interrupted: nothing was committed for <stage>``, exit 130;
- output piped into a reader that stopped (``| head``): silent, exit 141 (as a shell reports SIGPIPE).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Callable

from medallion.core.config import ConfigError, debug
from medallion.core.errors import MedallionError

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 1, 2, 130, 141


class UsageError(ConfigError):
    """An option or a configuration file is wrong; found before any stage ran (exit 2)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a wrong option as one line, ``error: ...`` (exit 2), instead of usage and error."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while ``label`` (a stage, or stage/version) was being built; it was not committed."""

    def __init__(self, label: str):
        super().__init__(label)
        self.label = label


_ERRNO_HINTS = {
    errno.ENOSPC: "the disk is full: free space, or point --store (data) or TMPDIR (temporary files) elsewhere",
    errno.EDQUOT: "the disk quota is used up: free space, or point --store or TMPDIR elsewhere",
    errno.EROFS: "the file system is read-only: use a writable --store or output path",
    errno.EACCES: "this user may not write there: use another path, or fix its permissions",
    errno.EPERM: "this user may not write there: use another path, or fix its permissions",
    errno.ENOTDIR: "a part of the path is a file where a folder is expected",
    errno.EISDIR: "it is a folder where a file is expected",
    errno.EADDRINUSE: "another process listens there: pick another --port",
    errno.EADDRNOTAVAIL: "this machine has no such address: pick another --host",
}


def describe(exc: OSError) -> str:
    """An OS error as one line: the path(s), the error's meaning and name, and what to do."""
    where = " -> ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None)
    code = errno.errorcode.get(exc.errno or 0)
    text = (exc.strerror or str(exc)) + (f" ({code})" if code else "")
    hint = _ERRNO_HINTS.get(exc.errno or 0)
    return (f"{where}: " if where else "") + text + (f"; {hint}" if hint else "")


def shield() -> None:
    """Ignore any further Ctrl-C: the process is on its way out after the first, and its cleanup (and the
    line that says what was not committed) must not be cut short by a second one."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def say(line: str) -> None:
    with contextlib.suppress(OSError):  # stderr is gone too: the exit code is all that is left
        print(line, file=sys.stderr, flush=True)


def run(body: Callable[[], int], stage: str = "") -> int:
    """Run ``body`` and turn every failure a user can cause into one line and an exit code.

    A ``MedallionError``'s message is already the line to print; ``stage``: what an interrupt outside a
    stage's run names.
    """
    try:
        code = body()
        sys.stdout.flush()  # a reader that went away shows here, not as a traceback at exit
        return code
    except BrokenPipeError:
        # Python's advice: point stdout at devnull, so the flush at exit does not fail again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt as exc:
        shield()
        label = exc.label if isinstance(exc, Interrupted) else stage
        say("interrupted: nothing was committed" + (f" for {label}" if label else ""))
        return EXIT_INTERRUPTED
    except UsageError as exc:
        say(f"error: {exc}")
        return EXIT_USAGE
    except MedallionError as exc:
        say(f"error: {exc}")
        return EXIT_FAILED
    except OSError as exc:
        say(f"error: {f'[{stage}] ' if stage else ''}{describe(exc)}")
        return EXIT_FAILED
    except Exception as exc:  # a bug or a library's surprise: still one line, the details on request
        if debug():
            raise
        where = f"[{stage}] " if stage else ""
        say(
            f"error: {where}unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]}. "
            "Nothing more was committed. "
            "This is a bug: rerun with MEDALLION_DEBUG=1 for the traceback and report it"
        )
        return EXIT_FAILED
