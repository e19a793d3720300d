"""Linux network namespaces without names: each is held by a ``sleep`` process that dies with
its parent, so a killed test run leaves no namespace, interface or process behind (a named
``ip netns`` would outlive it). Commands enter a namespace with ``setns`` before they exec."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


class RigUnavailable(RuntimeError):
    """Namespaces cannot be made here (not root, no ``ip``, a kernel without them)."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def die_with_parent() -> None:
    """SIGKILL this process when the thread that started it dies (a SIGKILLed pytest too)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def enter(path: str) -> None:
    """Move the calling thread into the network namespace at ``path``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        _check(_libc.setns(fd, CLONE_NEWNET), f"setns {path}")
    finally:
        os.close(fd)


def _new_namespace() -> None:
    _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
    die_with_parent()


def _in(path: str, uid: int | None = None, gid: int | None = None) -> Callable[[], None]:
    def prepare() -> None:
        enter(path)  # before dropping root: setns needs CAP_SYS_ADMIN
        if gid is not None:
            os.setgroups([])
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
        die_with_parent()  # after setuid, which clears the parent-death signal
    return prepare


def available() -> str | None:
    """Why namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "the cluster rig needs root (CI runs the suite as root)"
    missing = [tool for tool in ("ip", "sleep") if shutil.which(tool) is None]
    if missing:
        return f"the cluster rig needs {', '.join(missing)} on PATH"
    try:
        probe = Namespace("probe")
    except (OSError, RigUnavailable) as err:
        return f"cannot create a network namespace: {err}"
    probe.close()
    return None


class Namespace:
    """One network namespace, alive while its holder process lives."""

    def __init__(self, name: str):
        self.name = name
        self.holder = subprocess.Popen(["sleep", "infinity"], preexec_fn=_new_namespace,
                                       stdin=subprocess.DEVNULL)
        self.path = f"/proc/{self.holder.pid}/ns/net"
        # The holder has unshared once its namespace differs from ours.
        for _ in range(200):
            if self.holder.poll() is not None:
                raise RigUnavailable(f"the holder of namespace {name} exited "
                                     f"({self.holder.returncode})")
            with contextlib.suppress(OSError):
                if os.readlink(self.path) != os.readlink("/proc/self/ns/net"):
                    break
            subprocess.run(["sleep", "0.01"], check=False)
        else:
            self.close()
            raise RigUnavailable(f"namespace {name} was not created")

    @property
    def pid(self) -> int:
        return self.holder.pid

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a short command (``ip``, ``sh``) inside the namespace."""
        done = subprocess.run(list(args), preexec_fn=_in(self.path), capture_output=True,
                              text=True, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"[{self.name}] {' '.join(args)}: {done.stderr.strip()}")
        return done

    def spawn(self, args: Sequence[str], *, env: dict[str, str] | None = None,
              log: Path | None = None, user: tuple[int, int] | None = None,
              **kwargs: Any) -> subprocess.Popen:
        """A long-running process inside the namespace that dies with this one."""
        uid, gid = user if user else (None, None)
        out: Any = subprocess.DEVNULL
        handle = None
        if log is not None:
            handle = out = open(log, "ab")  # noqa: SIM115 - closed below, the child keeps it
        try:
            return subprocess.Popen(list(args), env=env, stdout=kwargs.pop("stdout", out),
                                    stderr=kwargs.pop("stderr", subprocess.STDOUT),
                                    stdin=subprocess.DEVNULL, preexec_fn=_in(self.path, uid, gid),
                                    **kwargs)
        finally:
            if handle is not None:
                handle.close()

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """The calling thread works inside the namespace (sockets it opens stay there)."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            enter(self.path)
            try:
                yield
            finally:
                _check(_libc.setns(own, CLONE_NEWNET), "setns back")
        finally:
            os.close(own)

    def close(self) -> None:
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait(timeout=10)
