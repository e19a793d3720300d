"""Lists of ids as PostgreSQL array parameters, written in one ``join``.

psycopg writes a ``list`` parameter element by element in Python (its array dumper looks up
each element's type and dumps it apart): 380 µs for 400 delivery ids, four times per batch a
worker claims and again per outcome flush. An ``IdArray`` (a list of str) is written as one
text-array literal instead, in ~3 µs, when bound with ``IdArrayType``. Only connections of an
engine passed to ``register`` know it; other lists keep psycopg's own dumper.
"""

from __future__ import annotations

import re
from typing import Any

from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy import Engine, String, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeDecorator


class IdArray(list):
    """A list of str bound as one ``text[]`` parameter."""


class IdArrayType(TypeDecorator):
    """``VARCHAR[]`` whose values reach psycopg as ``IdArray``: SQLAlchemy's own ARRAY type
    copies every value into a plain list on the way, which psycopg dumps element by element."""

    impl = ARRAY(String)
    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        return IdArray


# Elements that need no quotes in an array literal, joined by commas (none of them empty).
_PLAIN = re.compile(r"[A-Za-z0-9_.:-]+(?:,[A-Za-z0-9_.:-]+)*")


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class IdArrayDumper(Dumper):
    format = Format.TEXT
    oid = postgres.types["text"].array_oid

    def dump(self, obj: Any) -> bytes:
        joined = ",".join(obj)
        if (_PLAIN.fullmatch(joined) and joined.count(",") == len(obj) - 1
                and "NULL" not in joined.upper()):
            return ("{" + joined + "}").encode()  # ids: letters, digits, "_", "-", ".", ":"
        # Quoted, so commas, braces, spaces and NULL-like words stay part of an element.
        return ("{" + ",".join(map(_quoted, obj)) + "}").encode()


def register(engine: Engine) -> None:
    """Every connection ``engine`` opens writes ``IdArray`` parameters with ``IdArrayDumper``."""
    event.listen(engine, "connect", _register_on)


def _register_on(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.adapters.register_dumper(IdArray, IdArrayDumper)
