"""Which tests share a pytest-xdist worker (``--dist loadgroup``, as ``./scripts/test`` runs).

``heavy``: CPU-bound tests with time bounds (1,000-account fault runs, ``yunchu bench``, dead
workers, the cluster rig). They run one after another on one worker, beside light tests but
never beside each other, so two of them do not share the two cores and miss their bounds.
``browser``: a browser module's ``yunchu up`` and Chromium start once, on one worker.

By path, so that a new file in these places is grouped without anyone remembering to.
"""

from __future__ import annotations

import pytest

GROUPS: dict[str, tuple[str, ...]] = {
    "heavy": ("tests/fanout/test_faults.py", "tests/fanout/test_dead_worker.py",
              "tests/fanout/test_bench.py", "tests/rig/"),
    "browser": ("tests/browser/",),
}


def group_of(nodeid: str) -> str | None:
    for name, prefixes in GROUPS.items():
        if nodeid.startswith(prefixes):
            return name
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = group_of(item.nodeid)
        if name is not None:
            item.add_marker(pytest.mark.xdist_group(name))
