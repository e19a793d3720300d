"""The 传播力 index: WCI-style (WeChat), BCI-style (Weibo) and yunchu's documented indices
for Douyin and the city app, computed from an account's (or an org's) figures over a period.

Formulas and weights are data, not code: ``index_formulas.json`` beside this module holds
named formulas and numbered versions (platform → formula id). Every index the hub returns
carries the version and formula id it was computed with, and is labelled 估算: the hub's
inputs (datacube people counts, API figures) differ from the commercial rankings' crawled
public counts, and most published weights are unconfirmed (shared/platforms/engagement.md).

Shape of every formula::

    index = scale × (Σ_groups w_g × Σ_terms w_t × ln(multiplier × input + 1)) ** power
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ...models.reach import FIGURES

ESTIMATE_LABEL = "估算"
KINDS = ("total", "per_post", "per_day", "max")
INPUTS = ("posts", "days", *(f"{f}_{k}" for f in FIGURES for k in KINDS))


@dataclass(frozen=True)
class Term:
    input: str
    weight: float
    multiplier: float = 1.0


@dataclass(frozen=True)
class Group:
    label: str
    weight: float
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Formula:
    id: str
    name: str
    power: float
    scale: float
    groups: tuple[Group, ...]
    confirmed: bool = False

    def score(self, inputs: dict[str, float]) -> float:
        """The weighted sum of ln-normalised inputs, before ``power`` and ``scale``."""
        return sum(group.weight * sum(term.weight * math.log(term.multiplier
                                                             * inputs[term.input] + 1)
                                      for term in group.terms)
                   for group in self.groups)

    def index(self, inputs: dict[str, float]) -> float:
        return self.scale * self.score(inputs) ** self.power


@dataclass(frozen=True)
class Totals:
    """What an index is computed from: an account's (or an org's pooled accounts') figures in
    a period. ``best`` is each figure's largest single-post total in the period."""

    posts: int
    days: int
    sums: dict[str, int]
    best: dict[str, int]

    def inputs(self) -> dict[str, float]:
        values: dict[str, float] = {"posts": self.posts, "days": self.days}
        for figure in FIGURES:
            total = self.sums.get(figure, 0)
            values[f"{figure}_total"] = total
            # 篇均 over no post is 0, not a division error (an account silent all period).
            values[f"{figure}_per_post"] = total / self.posts if self.posts else 0.0
            values[f"{figure}_per_day"] = total / self.days if self.days else 0.0
            values[f"{figure}_max"] = self.best.get(figure, 0)
        return values


@dataclass(frozen=True)
class IndexSet:
    """One version: which formula each platform's index uses."""

    version: str
    formulas: dict[str, Formula]  # platform -> formula

    def formula(self, platform: str) -> Formula:
        return self.formulas[platform]

    def compute(self, platform: str, totals: Totals) -> float:
        return round(self.formulas[platform].index(totals.inputs()), 2)

    def describe(self, platform: str) -> dict[str, Any]:
        formula = self.formulas[platform]
        return {"version": self.version, "formula": formula.id, "name": formula.name,
                "label": ESTIMATE_LABEL, "confirmed": formula.confirmed}


def _formula(formula_id: str, raw: dict[str, Any]) -> Formula:
    groups = tuple(Group(g["label"], float(g["weight"]), tuple(
        Term(t["input"], float(t["weight"]), float(t.get("multiplier", 1.0)))
        for t in g["terms"])) for g in raw["groups"])
    for group in groups:
        for term in group.terms:
            if term.input not in INPUTS:
                raise ValueError(f"formula {formula_id}: unknown input {term.input!r}")
    return Formula(formula_id, raw["name"], float(raw["power"]), float(raw["scale"]), groups,
                   bool(raw.get("confirmed", False)))


def parse(document: dict[str, Any]) -> dict[str, IndexSet]:
    """Every version of a formulas document (raises ValueError on a malformed one)."""
    formulas = {fid: _formula(fid, raw) for fid, raw in document["formulas"].items()}
    return {version: IndexSet(version, {platform: formulas[fid]
                                        for platform, fid in mapping.items()})
            for version, mapping in document["versions"].items()}


@cache
def _document() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("index_formulas.json").read_text("utf-8")
    return json.loads(text)


@cache
def versions() -> dict[str, IndexSet]:
    return parse(_document())


def current() -> IndexSet:
    return versions()[_document()["current"]]


def formula(formula_id: str) -> Formula:
    return _formula(formula_id, _document()["formulas"][formula_id])
