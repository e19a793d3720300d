"""Root pytest configuration: shared service fixtures live in tests/plugins/."""

import importlib.util

pytest_plugins = [
    "tests.plugins.services",
    "tests.plugins.hub",
    "tests.plugins.xdist_groups",
]
if importlib.util.find_spec("tests.plugins.sandbox") is not None:
    pytest_plugins += ["tests.plugins.sandbox", "tests.plugins.fanout"]
