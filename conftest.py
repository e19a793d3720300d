"""Root pytest configuration: shared service fixtures live in tests/plugins/."""

pytest_plugins = [
    "tests.plugins.services",
]
