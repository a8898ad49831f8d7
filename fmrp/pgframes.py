"""polars frames in and out of PostgreSQL tables: the one implementation the forecasting and planning stores share.

Each schema's store (``forecasting.store``, ``mrp.store``) keeps its table names and adds its own errors; the
COPY, the keyed replace and the query-to-frame live here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl
import psycopg
from psycopg import sql


def read_frame(conn: psycopg.Connection, query: str, params: Sequence[object] | None = None) -> pl.DataFrame:
    """Run a query and return its rows as a polars frame (column names from the cursor)."""
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [d.name for d in cur.description or []]
        rows = cur.fetchall()
    return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)


def copy_frame(conn: psycopg.Connection, schema: str, table: str, frame: pl.DataFrame) -> None:
    """COPY a frame into ``<schema>.<table>``; its column names are the table's; naive datetimes are UTC."""
    if frame.is_empty():
        return
    frame = frame.with_columns(
        pl.col(name).dt.replace_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is None
    )
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    statement = sql.SQL("copy {} ({}) from stdin").format(sql.Identifier(schema, table), columns)
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in frame.iter_rows():
            copy.write_row(row)


def replace_rows(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    frame: pl.DataFrame,
    where: Mapping[str, object],
) -> int:
    """Replace the rows of ``<schema>.<table>`` matching ``where`` by ``frame``, in one transaction.

    The ``where`` columns are added to ``frame`` when it lacks them.

    Returns:
        Rows written.
    """
    frame = frame.with_columns(pl.lit(v).alias(k) for k, v in where.items() if k not in frame.columns)
    predicate = sql.SQL(" and ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in where)
    with conn.transaction():
        delete = sql.SQL("delete from {} where ").format(sql.Identifier(schema, table)) + predicate
        conn.execute(delete, list(where.values()))
        copy_frame(conn, schema, table, frame)
    return frame.height
