"""Child processes that die with the process that started them."""

from __future__ import annotations

import contextlib
import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """A ``preexec_fn``: run in the child before exec, so the kernel SIGKILLs it when its
    parent dies, even by SIGKILL, when no ``finally`` of the parent runs (Linux; elsewhere the
    parent's own cleanup is the only guard)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
