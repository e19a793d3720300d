"""The 传播力 index formulas (hub/services/reach/index.py, index_formulas.json)."""

from __future__ import annotations

import math

import pytest

from hub.services.reach import index
from hub.services.reach.index import Totals


def wci20_example() -> Totals:
    """The published WCI 2.0 worked example (shared/platforms/engagement.md §4.1, [R2]):
    R = 10000 over 100 articles (R/n = 100), Rmax = 300; Z = 4000 (Z/n = 40), Zmax = 60."""
    return Totals(posts=100, days=30, sums={"reads": 10000, "likes": 4000},
                  best={"reads": 300, "likes": 60})


def test_wci_20_reproduces_the_published_worked_example() -> None:
    wci = index.formula("wci-2.0")
    inputs = wci20_example().inputs()
    # The example's intermediate values, to the precision it states.
    read = wci.groups[0]
    assert sum(t.weight * math.log(inputs[t.input] + 1) for t in read.terms) \
        == pytest.approx(6.617046919, abs=1e-9)
    assert wci.score(inputs) == pytest.approx(6.414729206, abs=1e-9)
    assert round(wci.score(inputs), 4) == 6.4147
    assert wci.index(inputs) == pytest.approx(411.4875079, abs=1e-7)
    assert round(wci.index(inputs), 2) == 411.49


def test_current_version_covers_every_platform_and_is_labelled_estimate() -> None:
    current = index.current()
    assert current.version in index.versions()
    for platform in ("wechat", "weibo", "douyin", "cityapp"):
        described = current.describe(platform)
        assert described["label"] == "估算"
        assert described["version"] == current.version
    assert current.describe("wechat")["formula"] == "wci-2.0"
    assert current.compute("wechat", wci20_example()) == 411.49


def test_bci_matches_its_formula() -> None:
    totals = Totals(posts=20, days=30, sums={"shares": 50, "comments": 30, "likes": 400},
                    best={})
    expected = (0.2 * math.log(21) + 0.8 * (0.4 * math.log(51) + 0.4 * math.log(31)
                                            + 0.2 * math.log(401))) * 160
    assert index.current().compute("weibo", totals) == round(expected, 2)


def test_silent_account_scores_zero() -> None:
    silent = Totals(posts=0, days=7, sums={}, best={})
    for platform in ("wechat", "weibo", "douyin", "cityapp"):
        assert index.current().compute(platform, silent) == 0


def test_a_formula_naming_an_unknown_input_is_refused() -> None:
    document = {"formulas": {"x": {"name": "x", "power": 1, "scale": 1, "groups": [
        {"label": "g", "weight": 1, "terms": [{"input": "followers", "weight": 1}]}]}},
        "versions": {"v": {"wechat": "x"}}}
    with pytest.raises(ValueError, match="followers"):
        index.parse(document)


def test_every_formula_in_the_file_parses() -> None:
    for formula_id in index._document()["formulas"]:
        assert index.formula(formula_id).groups
