"""docker-compose.yml and the Dockerfile, checked without a Docker engine (tests/compose_check.py):
the real files pass, and each kind of breakage is caught."""

from __future__ import annotations

import tomllib
from collections.abc import Callable

import pytest

from tests.compose_check import REPO, compose_schema, dockerfile_copies, problems, yunchu_problems

COMPOSE = (REPO / "docker-compose.yml").read_text()
DOCKERFILE = (REPO / "Dockerfile").read_text()
ENV_EXAMPLE = (REPO / "docs" / "compose.env.example").read_text()
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _problems(compose: str = COMPOSE, dockerfile: str = DOCKERFILE,
              env_example: str = ENV_EXAMPLE) -> list[str]:
    return problems(compose, dockerfile, env_example, PYPROJECT)


def test_the_compose_stack_and_its_image_are_consistent():
    assert _problems() == []


def test_the_schema_is_the_compose_specification():
    schema = compose_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "services" in schema["properties"] and "x-" in str(schema["patternProperties"])


def test_the_commands_compose_runs_are_yunchu_commands():
    assert yunchu_problems(["worker"]) == []
    assert yunchu_problems(["db", "upgrade"]) == []
    # The first admin, as the file's header says to make it.
    assert yunchu_problems(["users", "create", "--role", "admin", "--name", "ops-admin"]) == []
    assert yunchu_problems(["wokrer"]) and yunchu_problems(["db", "upgrad"])
    assert yunchu_problems(["worker", "--no-such-option"])
    assert yunchu_problems(["db"])  # a group with no subcommand does nothing


def _replace(old: str, new: str, text: str = COMPOSE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BROKEN: dict[str, tuple[Callable[[], str], str]] = {
    "unknown service key": (lambda: _replace("    restart: unless-stopped\n",
                                             "    restart_policy: unless-stopped\n"),
                            "schema: services/postgres"),
    "bad restart value": (lambda: _replace("    restart: unless-stopped\n",
                                           "    restart: [always]\n"), "schema: services"),
    "depends on a missing service": (lambda: _replace("      redis:\n        condition: "
                                                      "service_healthy\n",
                                                      "      rediss:\n        condition: "
                                                      "service_healthy\n"),
                                     "depends on 'rediss', which is not a service"),
    "no such yunchu command": (lambda: _replace('command: ["yunchu", "worker"]',
                                                'command: ["yunchu", "workers"]'),
                               "no such command 'workers'"),
    "no such subcommand": (lambda: _replace('command: ["yunchu", "db", "upgrade"]',
                                            'command: ["yunchu", "db", "migrate"]'),
                           "no such command 'migrate'"),
    "binary the image lacks": (lambda: _replace('command: ["yunchu", "worker"]',
                                                'command: ["celery", "worker"]'),
                               "runs 'celery', which its image does not have"),
    "healthcheck binary the image lacks": (
        lambda: _replace('test: ["CMD", "redis-cli", "ping"]',
                         'test: ["CMD", "curl", "-f", "http://localhost:6379"]'),
        "redis: healthcheck runs 'curl'"),
    "healthcheck asks a route the hub lacks": (lambda: _replace("8000/readyz", "8000/ready"),
                                               "asks /ready, which is not a route"),
    "healthcheck on another port": (lambda: _replace("127.0.0.1:8000/readyz",
                                                     "127.0.0.1:8080/readyz"),
                                    "asks port 8080"),
    "wrong gunicorn app": (lambda: _replace('"hub.app:create_app()"]\n    environment',
                                            '"hub.app:make_app()"]\n    environment'),
                           "hub.app has no make_app"),
    "waits for health without a healthcheck": (
        lambda: _replace("    healthcheck:\n      test: [\"CMD\", \"redis-cli\", \"ping\"]\n"
                         "      interval: 5s\n      timeout: 3s\n      retries: 10\n", ""),
        "waits for redis to be healthy, but redis has no healthcheck"),
    "waits for a one-shot that restarts": (
        lambda: _replace('    restart: "no"\n    command: ["yunchu", "db", "upgrade"]',
                         '    restart: always\n    command: ["yunchu", "db", "upgrade"]'),
        "waits for migrate to complete, but migrate restarts"),
    "required variable missing from the example env": (
        lambda: _replace("${YUNCHU_SECRET_KEY:?set", "${YUNCHU_SIGNING_KEY:?set"),
        "required variable not set in docs/compose.env.example: YUNCHU_SIGNING_KEY"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_compose_file_fails(case: str):
    broken, expected = BROKEN[case]
    found = _problems(compose=broken())
    assert any(expected in p for p in found), found


def test_a_dockerfile_that_leaves_out_a_package_fails():
    assert "cli/" in dockerfile_copies(DOCKERFILE)
    found = _problems(dockerfile=DOCKERFILE.replace("COPY adapters/ adapters/\n", ""))
    assert any("imports adapters, which the Dockerfile does not copy" in p for p in found), found
    found = _problems(dockerfile=DOCKERFILE.replace("COPY hub/ hub/\n",
                                                    "COPY hub/ hub/\nCOPY plugins/ plugins/\n"))
    assert "Dockerfile copies plugins, which the repository does not have" in found, found
