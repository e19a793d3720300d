"""Content safety screen: the negative list (负面清单) and canonical-name typo checks."""

from .categories import CATEGORIES, DEFAULT_ACTIONS, TYPO_CATEGORY
from .screen import Hit, Screen, Term

__all__ = ["CATEGORIES", "DEFAULT_ACTIONS", "TYPO_CATEGORY", "Hit", "Screen", "Term"]
