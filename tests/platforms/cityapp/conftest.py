"""What the city-app sandbox tests share: a signing secret registered for the module's APP."""

from __future__ import annotations

import pytest

from tests.platforms.cityapp.support import new_secret


@pytest.fixture
def secret(sandbox, request) -> str:
    value = new_secret()
    sandbox.register("cityapp", request.module.APP, signing_secret=value)
    return value
