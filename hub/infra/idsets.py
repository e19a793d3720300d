"""Conditions and lookups over many ids that stay within a database's bind-parameter limit
(65,535 per statement on PostgreSQL, 32,766 on SQLite): a push or a matrix may name
100,000 accounts, and ``column.in_(ids)`` sends one parameter per id."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import any_, bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from .pgarrays import IdArray, IdArrayType

T = TypeVar("T")

CHUNK = 10_000  # ids per statement on SQLite; one array parameter on PostgreSQL either way


def on_postgres(session: Session) -> bool:
    """PostgreSQL: row locks, arrays and COPY. The other database is SQLite, which locks the
    whole file, and only when it writes."""
    return session.get_bind().dialect.name == "postgresql"


def among(session: Session, column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``, one parameter. A list of 200
    parameters makes a long statement that psycopg re-parses on every call (it caches only
    short ones) and PostgreSQL plans anew each time: 8 % of a worker's CPU in the claims. The
    array is an ``IdArray``, written in one join (``pgarrays``).
    On SQLite keep ``values`` to ``CHUNK`` or fewer (see ``chunks``)."""
    if on_postgres(session):
        return column == any_(bindparam(None, IdArray(values), type_=IdArrayType()))
    return column.in_(list(values))


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def existing(session: Session, column: Any, values: Iterable[str]) -> set[str]:
    """Which of ``values`` occur in ``column``."""
    found: set[str] = set()
    for chunk in chunks(list(values)):
        found.update(session.execute(select(column).where(among(session, column, chunk)))
                     .scalars())
    return found


def rows_among(session: Session, statement: Any, column: Any,
               values: Iterable[str]) -> list[Any]:
    """``statement`` (a select) restricted to ``column IN values``, run chunk by chunk."""
    rows: list[Any] = []
    for chunk in chunks(list(values)):
        rows += session.execute(statement.where(among(session, column, chunk))).all()
    return rows
