"""The cluster rig: PostgreSQL, Redis, the hub, the sandbox and worker hosts, each in its own
network namespace, joined by a bridge that lives in a namespace of its own. Nothing is added to
the machine's interfaces: every address is on the rig's private subnet, inside its namespaces.

    rig = Rig().start()
    try:
        with rig.inside():                 # this thread talks to the rig's addresses
            rig.host("worker1").spawn([...])
            rig.partition("worker1", ["postgres", "redis"]); ...; rig.heal()
            rig.netem("worker2", delay_ms=200, jitter_ms=50, loss=0.02)
            rig.restart_postgres(); rig.restart_redis(aof=False)
    finally:
        rig.stop()

Faults: a partition makes the host's frames to a service go to a MAC nobody has (a silent
drop, as a cut link: connections hang, nothing is refused); delay and loss go through
``shaper`` (user-space netem); SIGSTOP/SIGCONT are the caller's."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .netns import Namespace, RigUnavailable

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("YUNCHU_RIG_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVICE_OCTETS = {"postgres": 2, "redis": 3, "hub": 4, "sandbox": 5}
WORKER_OCTET = 11  # worker1 .11, worker2 .12, ...
NOWHERE_MAC = "02:00:5e:10:00:01"  # a locally administered MAC no interface has
SHAPER_DEV, SHAPER_MARK = "shp0", 7
PG_PORT, REDIS_PORT, HUB_PORT, SANDBOX_PORT = 5432, 6379, 8000, 8900
PUBLIC_URL = "http://127.0.0.1:8000"  # links in posts: a host the sandbox's Weibo accepts
TOKEN = "yc_rig_bootstrap_" + "0123456789abcdef0123"


@dataclass
class Host:
    name: str
    ns: Namespace
    ip: str
    rig: Rig
    shaper: subprocess.Popen | None = None
    cut_from: list[str] = field(default_factory=list)

    def spawn(self, args: Sequence[str], *, env: dict[str, str] | None = None,
              log: str | None = None, user: tuple[int, int] | None = None) -> subprocess.Popen:
        """A process on this host; the rig kills it in ``stop``."""
        proc = self.ns.spawn(args, env=env, user=user, cwd=REPO,
                             log=self.rig.logs / (log or f"{self.name}.log"))
        self.rig.processes.append(proc)
        return proc

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.ns.run(*args, check=check)


class Rig:
    def __init__(self, workers: int = 3, sandbox_latency_ms: float = 0.0,
                 workdir: Path | None = None):
        self.worker_count = workers
        self.sandbox_latency_ms = sandbox_latency_ms
        # Every run has its own namespaces, so the subnet cannot clash with another run's; the
        # pid only makes two rigs' addresses tell apart in logs.
        self.subnet = f"10.231.{os.getpid() % 200 + 20}"
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="yunchu-rig-"))
        self.workdir.chmod(0o755)  # PostgreSQL runs as its own user below it
        self.logs = self.workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.secret = "rig-secret-" + secrets.token_hex(16)
        self.processes: list[subprocess.Popen] = []
        self.namespaces: list[Namespace] = []
        self.hosts: dict[str, Host] = {}
        self.bridge: Namespace | None = None
        self.postgres: subprocess.Popen | None = None
        self.redis: subprocess.Popen | None = None
        self.redis_aof = True
        self.hub: subprocess.Popen | None = None
        self.sandbox: subprocess.Popen | None = None

    # ------------------------------------------------------------------ addresses

    def ip(self, name: str) -> str:
        return self.hosts[name].ip

    @property
    def worker_hosts(self) -> list[str]:
        return [f"worker{n}" for n in range(1, self.worker_count + 1)]

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@{self.ip('postgres')}:{PG_PORT}/yunchu"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.ip('redis')}:{REDIS_PORT}/0"

    @property
    def hub_url(self) -> str:
        return f"http://{self.ip('hub')}:{HUB_PORT}"

    @property
    def sandbox_url(self) -> str:
        return f"http://{self.ip('sandbox')}:{SANDBOX_PORT}"

    @property
    def sandbox_entry(self) -> str:
        """What YUNCHU_OUTBOUND_ALLOW names: the sandbox's rig address, nothing wider."""
        return f"{self.ip('sandbox')}:{SANDBOX_PORT}"

    def host(self, name: str) -> Host:
        return self.hosts[name]

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of the hub and the workers (the machine's YUNCHU_* left out)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("YUNCHU_")}
        return {**base, "YUNCHU_DATABASE_URL": self.database_url,
                "YUNCHU_REDIS_URL": self.redis_url, "YUNCHU_SECRET_KEY": self.secret,
                "YUNCHU_DATA_DIR": str(self.workdir / "data"), "YUNCHU_PUBLIC_URL": PUBLIC_URL,
                "YUNCHU_OUTBOUND_ALLOW": self.sandbox_entry, "YUNCHU_BOOTSTRAP_TOKEN": TOKEN,
                **extra}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Rig:
        try:
            self._network()
            with self.inside():
                self._start_postgres()
                self._start_redis(aof=True)
                self._migrate()
                self._start_sandbox()
                self._start_hub()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill everything the rig started, drop its namespaces and files. Idempotent."""
        for proc in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGCONT)  # a stopped process cannot die otherwise
                    proc.kill()
        for proc in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        self.processes.clear()
        for host in self.hosts.values():
            host.shaper = None
        for ns in reversed(self.namespaces):
            ns.close()
        self.namespaces.clear()
        if os.environ.get("YUNCHU_RIG_KEEP"):  # the logs, to see what a failed run did
            print(f"rig files kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Rig:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """The calling thread joins the bridge's namespace: it reaches every rig address (and
        none of the machine's)."""
        assert self.bridge is not None
        with self.bridge.entered():
            yield

    # ------------------------------------------------------------------ faults

    def partition(self, host: str, from_: Sequence[str] = ("postgres", "redis")) -> None:
        """Cut ``host`` off from the named hosts: its frames to them go nowhere."""
        h = self.hosts[host]
        for peer in from_:
            h.run("ip", "neigh", "replace", self.ip(peer), "lladdr", NOWHERE_MAC, "dev", "eth0",
                  "nud", "permanent")
            h.cut_from.append(peer)

    def heal(self, host: str | None = None) -> None:
        for h in ([self.hosts[host]] if host else list(self.hosts.values())):
            for peer in h.cut_from:
                h.run("ip", "neigh", "del", self.ip(peer), "dev", "eth0", check=False)
            h.cut_from.clear()

    def netem(self, host: str, delay_ms: float = 0.0, jitter_ms: float = 0.0,
              loss: float = 0.0, to: Sequence[str] = ("postgres", "redis")) -> None:
        """Delay (± jitter) and drop what ``host`` sends to ``to``; replaces earlier settings."""
        h = self.hosts[host]
        self.clear_netem(host)
        h.shaper = h.spawn([sys.executable, "-m", "bench.rig.shaper", "--dev", SHAPER_DEV,
                            "--mark", str(SHAPER_MARK), "--delay-ms", str(delay_ms),
                            "--jitter-ms", str(jitter_ms), "--loss", str(loss)],
                           log=f"{host}-shaper.log")
        deadline = time.monotonic() + 15
        while h.run("ip", "link", "show", SHAPER_DEV, check=False).returncode != 0:
            if h.shaper.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the shaper on {host} did not start: "
                                   f"{(self.logs / f'{host}-shaper.log').read_text()[-2000:]}")
            time.sleep(0.05)
        h.run("ip", "link", "set", SHAPER_DEV, "up")
        for peer in to:
            h.run("ip", "route", "replace", f"{self.ip(peer)}/32", "dev", SHAPER_DEV, "src", h.ip)

    def clear_netem(self, host: str | None = None) -> None:
        for h in ([self.hosts[host]] if host else list(self.hosts.values())):
            if h.shaper is not None:
                h.shaper.kill()  # its TUN device, and the routes into it, go with it
                h.shaper.wait(timeout=10)
                h.shaper = None

    def restart_postgres(self, mode: str = "fast") -> None:
        """Stop PostgreSQL (``fast``: sessions are terminated, as a restart does; ``immediate``:
        a crash) and start it again on the same data."""
        assert self.postgres is not None
        self.postgres.send_signal(signal.SIGINT if mode == "fast" else signal.SIGQUIT)
        self.postgres.wait(timeout=60)
        with self.inside():
            self._start_postgres(initdb=False)

    def restart_redis(self, aof: bool) -> None:
        """Restart Redis. ``aof``: a clean stop and a start that replays the append-only file;
        otherwise a kill and a start without persistence: every key is gone."""
        assert self.redis is not None
        if aof:
            self.redis.terminate()
        else:
            self.redis.kill()
        self.redis.wait(timeout=30)
        with self.inside():
            self._start_redis(aof=aof, keep=aof)

    # ------------------------------------------------------------------ building it

    def _network(self) -> None:
        self.bridge = self._namespace("bridge")
        self.bridge.run("ip", "link", "set", "lo", "up")
        self.bridge.run("ip", "link", "add", "br0", "type", "bridge")
        self.bridge.run("ip", "addr", "add", f"{self.subnet}.1/24", "dev", "br0")
        self.bridge.run("ip", "link", "set", "br0", "up")
        names = list(SERVICE_OCTETS) + self.worker_hosts
        for name in names:
            octet = SERVICE_OCTETS.get(name) or WORKER_OCTET + self.worker_hosts.index(name)
            ns = self._namespace(name)
            port = f"v-{name}"[:15]
            self.bridge.run("ip", "link", "add", port, "type", "veth", "peer", "name", "eth0",
                            "netns", str(ns.pid))
            self.bridge.run("ip", "link", "set", port, "master", "br0", "up")
            ip = f"{self.subnet}.{octet}"
            ns.run("ip", "link", "set", "lo", "up")
            ns.run("ip", "addr", "add", f"{ip}/24", "dev", "eth0")
            ns.run("ip", "link", "set", "eth0", "up")
            host = self.hosts[name] = Host(name, ns, ip, self)
            if name.startswith("worker"):
                self._prepare_shaping(host)

    def _namespace(self, name: str) -> Namespace:
        ns = Namespace(name)
        self.namespaces.append(ns)
        return ns

    def _prepare_shaping(self, host: Host) -> None:
        """The shaper's raw socket marks its packets: they take a table that goes straight out
        of eth0, not back into the TUN device. Answers arrive on eth0 while the way out is the
        TUN device, so reverse-path filtering is off."""
        host.run("ip", "rule", "add", "fwmark", str(SHAPER_MARK), "lookup", str(SHAPER_MARK),
                 "pref", "100")
        host.run("ip", "route", "add", f"{self.subnet}.0/24", "dev", "eth0", "src", host.ip,
                 "table", str(SHAPER_MARK))
        host.run("sh", "-c", "for f in all default eth0; do "
                 "echo 0 > /proc/sys/net/ipv4/conf/$f/rp_filter; done")

    def _start_postgres(self, initdb: bool = True) -> None:
        import pwd

        entry = pwd.getpwnam("postgres")
        user = (entry.pw_uid, entry.pw_gid)
        data, sockets = self.workdir / "pg", self.workdir / "pgsock"
        host = self.hosts["postgres"]
        if initdb:
            for path in (data, sockets):
                path.mkdir(mode=0o700)
                os.chown(path, *user)
            init = host.ns.spawn([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                  "-A", "trust", "-E", "UTF8", "--no-sync"], user=user,
                                 log=self.logs / "initdb.log")
            if init.wait(timeout=120) != 0:
                raise RigUnavailable(f"initdb failed: {(self.logs / 'initdb.log').read_text()}")
            with open(data / "pg_hba.conf", "a") as hba:
                hba.write(f"host all all {self.subnet}.0/24 trust\n")
        self.postgres = host.spawn(
            [str(PG_BIN / "postgres"), "-D", str(data), "-c", f"listen_addresses={host.ip}",
             "-c", f"port={PG_PORT}", "-c", f"unix_socket_directories={sockets}",
             # Durability is not under test (the machine does not crash, the server does):
             # fsync off keeps the rig fast on a shared disk.
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=300", "-c", "shared_buffers=64MB"],
            user=user, log="postgres.log")
        self._wait_port("postgres", PG_PORT, self.postgres)
        if initdb:
            self._sql("CREATE DATABASE yunchu", database="postgres")

    def _sql(self, statement: str, database: str = "yunchu") -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(host=self.ip("postgres"), port=PG_PORT, user="postgres",
                                     dbname=database, autocommit=True, connect_timeout=3) as c:
                    c.execute(statement)  # type: ignore[arg-type]
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _start_redis(self, aof: bool, keep: bool = False) -> None:
        data = self.workdir / "redis"
        if data.exists() and not keep:
            shutil.rmtree(data)
        data.mkdir(exist_ok=True)
        self.redis_aof = aof
        self.redis = self.hosts["redis"].spawn(
            ["redis-server", "--bind", self.ip("redis"), "--port", str(REDIS_PORT),
             "--dir", str(data), "--appendonly", "yes" if aof else "no",
             "--appendfsync", "everysec", "--save", "", "--protected-mode", "no",
             "--daemonize", "no"], log="redis.log")
        self._wait_port("redis", REDIS_PORT, self.redis)

    def _migrate(self) -> None:
        from hub.infra import migrate
        from hub.infra.db import make_engine

        engine = make_engine(self.database_url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()

    def _start_sandbox(self) -> None:
        self.sandbox = self.hosts["sandbox"].spawn(
            [sys.executable, "-m", "cli", "sandbox", "--host", self.ip("sandbox"), "--port",
             str(SANDBOX_PORT), "--latency-ms", str(self.sandbox_latency_ms)],
            env=self.env(), log="sandbox.log")
        self._wait_port("sandbox", SANDBOX_PORT, self.sandbox, timeout=60)

    def _start_hub(self) -> None:
        self.hub = self.hosts["hub"].spawn(
            [sys.executable, "-m", "cli", "up", "--host", self.ip("hub"), "--port",
             str(HUB_PORT)], env=self.env(YUNCHU_WORKERS="0"), log="hub.log")
        self._wait_port("hub", HUB_PORT, self.hub, timeout=90)

    def _wait_port(self, name: str, port: int, proc: subprocess.Popen,
                   timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log = self.logs / f"{name}.log"
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"{name} exited ({proc.returncode}): {tail}")
            try:
                with socket.create_connection((self.ip(name), port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{name} is not listening on {self.ip(name)}:{port}")
