"""The shared ``sandbox`` fixture (until the root conftest loads tests.plugins.sandbox itself)."""

from tests.plugins.sandbox import sandbox, sandbox_server  # noqa: F401
