"""Who may withdraw how far (hub.security.permissions.withdraw_right): a pure rule, tested without I/O."""

from __future__ import annotations

import pytest

from hub.errors import ApiError
from hub.security.auth import Principal
from hub.security.permissions import withdraw_right

PROVINCE, CITY, COUNTY, OTHER_CITY = "/p/", "/p/c1/", "/p/c1/k1/", "/p/c2/"


def who(*roles: str, path: str | None, stage: int | None = None) -> Principal:
    return Principal(user_id="u", name="n", roles=roles, org_id="o", org_path=path,
                     review_stage=stage)


@pytest.mark.parametrize(("principal", "everywhere", "scope"), [
    (who("admin", path=None), True, None),
    (who("admin", path=PROVINCE), True, None),
    (who("reviewer", path=CITY, stage=3), True, None),  # the origin's 终审
    (who("admin", path=CITY), False, CITY),
    (who("operator", path=COUNTY), False, COUNTY),
])
def test_who_withdraws_how_far(principal, everywhere, scope):
    right = withdraw_right(principal, origin_org_path=COUNTY)
    assert (right.everywhere, right.org_path) == (everywhere, scope)


@pytest.mark.parametrize("principal", [
    who("reviewer", path=CITY, stage=2),
    who("reviewer", path=OTHER_CITY, stage=3),  # another org's chief editor
    who("editor", path=CITY),
    who("auditor", path=None),
])
def test_others_may_not_withdraw(principal):
    with pytest.raises(ApiError) as raised:
        withdraw_right(principal, origin_org_path=COUNTY)
    assert raised.value.status == 403


def test_an_operator_withdraws_a_province_story_from_their_own_accounts_only():
    right = withdraw_right(who("operator", path=COUNTY), origin_org_path=PROVINCE)
    assert not right.everywhere and right.org_path == COUNTY
