"""Static checks of docker-compose.yml and the Dockerfile it builds, for a machine without a
Docker engine: the file is valid against the Compose specification's JSON schema (the copy
vendored by the ``check-jsonschema`` package, with its licence), after interpolation with the
values docs/compose.env.example documents; and everything it names exists: services named in
``depends_on`` (and in the state their condition waits for), the ``yunchu`` subcommands and
options it runs, gunicorn's app, the route a healthcheck asks for, the binaries each image has,
and the project files the Dockerfile copies into the image.

``problems`` returns readable findings, none for a good stack; the tests feed it broken copies.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]

# What the images compose pulls (not built here) are known to carry, by image name without
# tag: each service's command, entrypoint and healthcheck may call only these (or a shell
# built-in through CMD-SHELL / sh -c).
PULLED_IMAGE_BINARIES = {
    "postgres": {"postgres", "pg_isready", "psql", "sh"},
    "redis": {"redis-server", "redis-cli", "sh"},
    # minio's entrypoint runs its first word as a minio subcommand (``server`` is minio server).
    "quay.io/minio/minio": {"minio", "server", "mc", "sh"},
    "quay.io/minio/mc": {"mc", "sh", "/bin/sh"},
}
# Of the image built from the Dockerfile: the base image's, plus the project's console scripts
# and its dependencies' (added from pyproject.toml below).
BASE_BINARIES = {"python", "python3", "pip", "sh", "/bin/sh"}
SHELLS = {"sh", "/bin/sh"}
CONSOLE_SCRIPTS_OF_DEPENDENCIES = {"gunicorn": "gunicorn"}  # requirement name -> script
CONDITIONS_NEEDING = {"service_healthy": "healthcheck"}
VARIABLE = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?"
                      r"(?P<arg>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def compose_schema() -> dict[str, Any]:
    """The Compose specification's schema as check-jsonschema ships it."""
    vendor = resources.files("check_jsonschema") / "builtin_schemas" / "vendor"
    return json.loads((vendor / "compose-spec.json").read_text())


def example_env(text: str) -> dict[str, str]:
    """The variables docs/compose.env.example sets, with a placeholder for the secrets it
    leaves empty (an operator fills them in; docker compose refuses to start without)."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        env[name.strip()] = value.strip() or f"example-{name.strip().lower()}"
    return env


def interpolate(node: Any, env: Mapping[str, str], missing: list[str]) -> Any:
    """Compose's variable interpolation (``$$``, ``${V}``, ``${V:-d}``, ``${V-d}``,
    ``${V:?e}``, ``${V?e}``, ``${V:+r}``, ``${V+r}``) over every string value."""
    if isinstance(node, dict):
        return {k: interpolate(v, env, missing) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env, missing) for v in node]
    if not isinstance(node, str):
        return node

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op") or "", match.group("arg") or ""
        value = env.get(name)
        empty = value is None or (op.startswith(":") and value == "")
        if op.endswith("-"):
            return arg if empty else value  # type: ignore[return-value]
        if op.endswith("?"):
            if empty:
                missing.append(f"{name} ({arg})")
                return ""
            return value  # type: ignore[return-value]
        if op.endswith("+"):
            return "" if empty else arg
        return value or ""

    return VARIABLE.sub(one, node)


def load(compose_text: str, env: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    raw = yaml.safe_load(compose_text)  # anchors and << merge keys resolved
    missing: list[str] = []
    return interpolate(raw, env, missing), missing


def schema_errors(document: dict[str, Any]) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(compose_schema())
    return [f"schema: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in sorted(validator.iter_errors(document), key=lambda e: list(e.path))]


# ------------------------------------------------------------------ the Dockerfile


def dockerfile_copies(dockerfile: str) -> list[str]:
    """Sources of the ``COPY`` lines that take files from the build context."""
    sources: list[str] = []
    for line in dockerfile.splitlines():
        words = line.split()
        if not words or words[0].upper() != "COPY" or any(w.startswith("--from") for w in words):
            continue
        sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def image_problems(dockerfile: str, pyproject: dict[str, Any], repo: Path) -> list[str]:
    """Every file the Dockerfile copies exists, and every first-party package the copied code
    imports (at the top or inside a function) is copied too: the wheel built from the copy
    would otherwise lack it."""
    found: list[str] = []
    copied = {source.rstrip("/") for source in dockerfile_copies(dockerfile)}
    for source in sorted(copied):
        if not (repo / source).exists():
            found.append(f"Dockerfile copies {source}, which the repository does not have")
    first_party = {p.name for p in repo.iterdir() if (p / "__init__.py").exists()}
    for package in sorted(copied & first_party):
        for path in (repo / package).rglob("*.py"):
            for name in _imported_top_names(path):
                if name in first_party and name not in copied:
                    found.append(f"{path.relative_to(repo)} imports {name}, which the "
                                 f"Dockerfile does not copy into the image")
    return sorted(set(found))


def _imported_top_names(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def built_binaries(pyproject: dict[str, Any]) -> set[str]:
    project = pyproject["project"]
    binaries = set(BASE_BINARIES) | set(project.get("scripts", {}))
    for requirement in project.get("dependencies", []):
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()
        if name in CONSOLE_SCRIPTS_OF_DEPENDENCIES:
            binaries.add(CONSOLE_SCRIPTS_OF_DEPENDENCIES[name])
    return binaries


# ------------------------------------------------------------------ services


def _argv(value: Any) -> list[str]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else shlex.split(value)


def _healthcheck_argv(test: Any) -> tuple[list[str], bool]:
    """(argv, through a shell) of a healthcheck's ``test``."""
    argv = _argv(test)
    if not argv or argv[0] == "NONE":
        return [], False
    if argv[0] == "CMD-SHELL":
        return shlex.split(" ".join(argv[1:])), True
    if argv[0] == "CMD":
        return argv[1:], False
    return shlex.split(" ".join(argv)), True  # a string: run by the shell


def _builds_here(service: dict[str, Any]) -> bool:
    return "build" in service


def _image_name(service: dict[str, Any]) -> str:
    return str(service.get("image", "")).rsplit(":", 1)[0] if "@" not in str(
        service.get("image", "")) else str(service["image"]).split("@")[0]


def service_problems(document: dict[str, Any], pyproject: dict[str, Any]) -> list[str]:
    found: list[str] = []
    services: dict[str, Any] = document.get("services") or {}
    binaries = built_binaries(pyproject)
    for name, service in services.items():
        found += _dependency_problems(name, service, services)
        own = binaries if _builds_here(service) else PULLED_IMAGE_BINARIES.get(_image_name(service))
        if own is None:
            found.append(f"{name}: image {service.get('image')!r} is neither built here nor one "
                         f"whose binaries this check knows")
            continue
        entrypoint = _argv(service.get("entrypoint"))
        command = _argv(service.get("command"))
        argv = entrypoint or command
        if argv and argv[0] not in own:
            found.append(f"{name}: runs {argv[0]!r}, which its image does not have")
        if _builds_here(service) and not entrypoint:
            found += [f"{name}: {p}" for p in command_problems(command)]
        check, shell = _healthcheck_argv((service.get("healthcheck") or {}).get("test"))
        if check and check[0] not in own:
            found.append(f"{name}: healthcheck runs {check[0]!r}, which its image does not have")
        if check and _builds_here(service) and not shell:
            found += [f"{name}: healthcheck {p}" for p in probe_problems(check, command)]
    return found


def _dependency_problems(name: str, service: dict[str, Any],
                         services: dict[str, Any]) -> list[str]:
    found: list[str] = []
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        depends = {d: {"condition": "service_started"} for d in depends}
    for other, how in depends.items():
        if other not in services:
            found.append(f"{name}: depends on {other!r}, which is not a service")
            continue
        condition = (how or {}).get("condition", "service_started")
        needed = CONDITIONS_NEEDING.get(condition)
        if needed and not services[other].get(needed):
            found.append(f"{name}: waits for {other} to be healthy, but {other} has no "
                         f"healthcheck")
        if condition == "service_completed_successfully" and \
                services[other].get("restart", "no") not in ("no", False):
            found.append(f"{name}: waits for {other} to complete, but {other} restarts "
                         f"({services[other].get('restart')})")
    return found


def command_problems(argv: list[str]) -> list[str]:
    """A command of the built image: a ``yunchu`` command line the CLI accepts, or gunicorn
    serving an app factory that exists."""
    if not argv:
        return []
    if argv[0] == "yunchu":
        return yunchu_problems(argv[1:])
    if argv[0] == "gunicorn":
        apps = [a for a in argv[1:] if ":" in a and not a.startswith("-")
                and not re.match(r"^[\d.]*:\d+$", a)]
        return [p for app in apps for p in _app_problems(app)] or (
            [] if apps else ["gunicorn: no app named"])
    return []


def yunchu_problems(args: list[str]) -> list[str]:
    """Whether ``yunchu ARGS`` names commands and options that exist: click parses the leaf
    command's arguments as it would at run time, without running anything."""
    import click

    from cli import main

    said = f"yunchu {' '.join(args)}"
    command: click.Command = main
    ctx = click.Context(main, info_name="yunchu")
    rest = list(args)
    while isinstance(command, click.Group):
        if not rest or rest[0].startswith("-"):
            return [f"{said}: names no subcommand"]
        sub = command.get_command(ctx, rest[0])
        if sub is None:
            return [f"{said}: no such command {rest[0]!r}"]
        ctx = click.Context(sub, info_name=rest[0], parent=ctx)
        command, rest = sub, rest[1:]
    try:
        command.make_context(ctx.info_name or "", rest, parent=ctx.parent)
    except click.UsageError as err:
        return [f"{said}: {err.format_message()}"]
    return []


def _app_problems(spec: str) -> list[str]:
    import importlib

    module_name, _, attr = spec.partition(":")
    factory = attr.split("(", 1)[0]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        return [f"gunicorn app {spec}: {err}"]
    if not callable(getattr(module, factory, None)):
        return [f"gunicorn app {spec}: {module_name} has no {factory}"]
    return []


def probe_problems(argv: list[str], command: list[str]) -> list[str]:
    """A ``python -c`` probe of the hub: the URL it opens is a route of the app, on the port
    the service's command binds."""
    found: list[str] = []
    urls = re.findall(r"https?://[^'\"\s]+", " ".join(argv))
    binds = [command[i + 1] for i, a in enumerate(command[:-1]) if a in ("--bind", "-b")]
    ports = {b.rsplit(":", 1)[1] for b in binds}
    for url in urls:
        match = re.match(r"https?://[^/:]+(?::(\d+))?(/[^?#]*)?", url)
        assert match is not None
        port, path = match.group(1) or "80", match.group(2) or "/"
        if ports and port not in ports:
            found.append(f"asks port {port}, but the service binds {sorted(ports)}")
        if not _is_route(path):
            found.append(f"asks {path}, which is not a route of the hub")
    return found


def _is_route(path: str) -> bool:
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    adapter = _url_map().bind("localhost")
    try:
        adapter.match(path, method="GET")
    except NotFound:
        return False
    except MethodNotAllowed:
        return False
    return True


_URL_MAP: list[Any] = []


def _url_map() -> Any:
    """The hub's routes: the app built on a throwaway SQLite file (nothing is served, and
    neither the database nor Redis is opened to list routes)."""
    if not _URL_MAP:
        import tempfile

        from hub.app import create_app
        from hub.infra.config import load_settings

        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(env={}, data_dir=Path(tmp),
                                     database_url=f"sqlite:///{tmp}/routes.db",
                                     redis_url="redis://127.0.0.1:1/0", secret_key="x" * 32)
            app = create_app(settings)
            _URL_MAP.append(app.url_map)
            app.extensions["yunchu"].close()
    return _URL_MAP[0]


# ------------------------------------------------------------------ all of it


def problems(compose_text: str, dockerfile: str, env_example: str,
             pyproject: dict[str, Any], repo: Path = REPO) -> list[str]:
    document, missing = load(compose_text, example_env(env_example))
    found = [f"required variable not set in docs/compose.env.example: {m}" for m in missing]
    found += schema_errors(document)
    if not found:  # the semantic checks read a document the schema accepted
        found += service_problems(document, pyproject)
    found += image_problems(dockerfile, pyproject, repo)
    return found
