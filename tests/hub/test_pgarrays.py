"""Id lists reach PostgreSQL as one text-array literal (``pgarrays``): every element comes back
as it went, whatever characters it holds, and ``among`` binds its ids that way (SQLAlchemy's
own ARRAY type hands psycopg a plain list) and finds the same rows as a plain list did."""

from __future__ import annotations

from sqlalchemy import String, bindparam, column, select, table, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from hub.infra.db import make_engine
from hub.infra.idsets import among
from hub.infra.pgarrays import IdArray, IdArrayDumper, IdArrayType

AWKWARD = ["dlv_01", "NuLl", "plain_id-1.2:3", 'say "hi"', "back\\slash", "a,b", "{braces}", "NULL", "", " padded ",
           "日本語", "tab\tand\nnewline", "\\\"", "x" * 500]


def test_the_literal_quotes_every_element():
    assert IdArrayDumper(IdArray).dump(IdArray(['a"b', "c\\d", "e,f"])) == \
        b'{"a\\"b","c\\\\d","e,f"}'
    assert IdArrayDumper(IdArray).dump(IdArray()) == b"{}"
    # Plain ids go unquoted; a NULL among them, or an empty one, does not.
    assert IdArrayDumper(IdArray).dump(IdArray(["dlv_01", "acc-2.x:y"])) == b"{dlv_01,acc-2.x:y}"
    assert IdArrayDumper(IdArray).dump(IdArray(["a", "null"])) == b'{"a","null"}'
    assert IdArrayDumper(IdArray).dump(IdArray(["a", ""])) == b'{"a",""}'
    assert IdArrayDumper(IdArray).dump(IdArray(["a,b", "c"])) == b'{"a,b","c"}'


def test_every_element_comes_back_as_it_went(pg_database_url):
    engine = make_engine(pg_database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT x FROM unnest(:ids) WITH ORDINALITY AS t(x, n) ORDER BY n")
                .bindparams(bindparam("ids", type_=IdArrayType())),
                {"ids": IdArray(AWKWARD)}).scalars().all()
            empty = connection.execute(
                text("SELECT cardinality(:ids)").bindparams(bindparam("ids", type_=IdArrayType())),
                {"ids": IdArray()}).scalar_one()
    finally:
        engine.dispose()
    assert rows == AWKWARD and empty == 0


def test_among_matches_what_a_plain_list_matched_and_writes_it_in_one_join(
        pg_database_url, monkeypatch):
    dumped: list[int] = []
    dump = IdArrayDumper.dump
    monkeypatch.setattr(IdArrayDumper, "dump", lambda self, obj: dumped.append(len(obj))
                        or dump(self, obj))
    engine = make_engine(pg_database_url)
    values = table("v", column("id", String))
    try:
        with Session(engine) as session:
            session.execute(text("CREATE TEMP TABLE v (id text)"))
            session.execute(text("INSERT INTO v VALUES " + ", ".join(
                f"(:v{i})" for i in range(len(AWKWARD)))), {f"v{i}": v for i, v in enumerate(AWKWARD)})
            wanted = AWKWARD[1:9] + ["not there"]
            found = set(session.execute(select(values.c.id).where(
                among(session, values.c.id, iter(wanted)))).scalars())
            plain = set(session.execute(select(values.c.id).where(
                values.c.id == bindparam("p", list(wanted), type_=ARRAY(String)).any_())
            ).scalars())
    finally:
        engine.dispose()
    assert found == plain == set(AWKWARD[1:9])
    assert dumped == [len(wanted)]  # the plain list went through psycopg's own dumper
