"""Hand-made warehouse relations (the marts', the history views' and the dbt snapshots' columns) for the tests of
:func:`mrp.runs.load_plan_inputs` that do not need dbt: each frame becomes a table of that name."""

from __future__ import annotations

import polars as pl
import psycopg
from psycopg import sql

from fmrp import pgframes

_TYPES: dict[type[pl.DataType], str] = {
    pl.String: "text",
    pl.Float64: "double precision",
    pl.Int32: "integer",
    pl.Int64: "bigint",
    pl.Boolean: "boolean",
    pl.Date: "date",
    pl.Datetime: "timestamp",
}


def write_relation(conn: psycopg.Connection, schema: str, name: str, frame: pl.DataFrame) -> None:
    """Create ``<schema>.<name>`` with the frame's columns (polars types mapped to PostgreSQL's) and fill it."""
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(_TYPES[dtype.base_type()]))
        for column, dtype in frame.schema.items()
    )
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("create table {} ({})").format(sql.Identifier(schema, name), columns))
    pgframes.copy_frame(conn, schema, name, frame)
