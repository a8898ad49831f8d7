"""Positions and master data as of a date: what a plan of a past origin reads instead of today's marts.

A backfill of old origins is a rolling-origin history of "what we would have planned then" (PRODUCT §0), so a
plan reads the warehouse as it stood on its *as-of date*, the last day of its origin bucket (the Sunday before
the first planned week, the last day of the month before the first planned month):

- **Positions** (stock, open orders, firm customer orders) from the ``marts.*_history`` views: every active
  daily snapshot, keyed by its export's business date. The plan takes the latest snapshot on or before the
  as-of date, per export (purchase and production orders are separate exports). When that is the newest
  snapshot, it is exactly what the current mart holds.
- **Master data** (items with their costs, item-supplier terms) from the dbt snapshots of WH-3
  (``snapshots.items_snapshot``, ``snapshots.item_supplier_terms_snapshot``): the version valid on the as-of
  date (``dbt_valid_from <= d < dbt_valid_to``). The current mart is used as it is when its export is not
  newer than the as-of date.

When no history covers the date (the daily files of that time were never landed, the snapshots started later,
or the warehouse was built before the history views existed), the current mart is read instead, a warning is
logged and the source is named in :attr:`AsOfReader.gaps`, so the run's metadata says the plan mixes dates.
BOM lines (which carry their own validity dates), routings, suppliers, capacity and the calendar are always
the current ones.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import polars as pl
import psycopg
from psycopg import sql

from fmrp import pgframes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PositionSource:
    """A positions mart and its history view.

    Attributes:
        mart: The current mart (``marts.<mart>``), the history's latest snapshot.
        history: The view with every snapshot (``marts.<history>``).
        date_column: The snapshot's business date in the history view.
        per: The column whose values are separate exports, each with its own snapshot dates (or None).
    """

    mart: str
    history: str
    date_column: str = "snapshot_date"
    per: str | None = None


@dataclass(frozen=True)
class MasterSource:
    """A master-data mart and its dbt snapshot (``snapshots.<snapshot>``, the mart's columns + ``dbt_valid_*``)."""

    mart: str
    snapshot: str


INVENTORY = PositionSource("inventory_position", "inventory_position_history", date_column="business_date")
SCHEDULED_RECEIPTS = PositionSource("scheduled_receipts", "scheduled_receipts_history", per="order_type")
CUSTOMER_ORDERS = PositionSource("customer_orders", "customer_orders_history")
ITEMS = MasterSource("items", "items_snapshot")
ITEM_SUPPLIERS = MasterSource("item_suppliers", "item_supplier_terms_snapshot")


def as_of_date(first_bucket: dt.date) -> dt.date:
    """The as-of date of a plan whose first bucket starts on ``first_bucket``: the day before it."""
    return first_bucket - dt.timedelta(days=1)


@dataclass
class AsOfReader:
    """Reads positions and master data as they stood on ``as_of``, noting what no history covered.

    Attributes:
        conn: The warehouse.
        as_of: The date the plan stands on.
        gaps: The sources read as they are today because no history covered ``as_of`` (``items``,
            ``scheduled_receipts (production)``, ...), in reading order.
    """

    conn: psycopg.Connection
    as_of: dt.date
    gaps: list[str] = field(default_factory=list)

    def positions(self, source: PositionSource, columns: str, *, where: str = "", group_by: str = "") -> pl.DataFrame:
        """``select <columns> from <the snapshot of as_of> [where ...] [group by ...]``.

        The history view has the mart's columns, so the same ``columns``, ``where`` and ``group_by`` read the
        mart when no history covers the date.
        """
        tail = (f" where {where}" if where else "") + (f" group by {group_by}" if group_by else "")
        current = f"select {columns} from marts.{source.mart}{tail}"
        if not self._exists("marts", source.history):
            self._gap(source.mart, f"marts.{source.history} does not exist (build the warehouse)")
            return self._read(current)
        date, per = source.date_column, source.per
        group = f" group by {per}" if per else ""
        chosen = (
            f"select {per + ', ' if per else ''}max({date}) as {date} from marts.{source.history}"
            f" where {date} <= %s{group}"
        )
        covered = self._read(chosen, [self.as_of]).drop_nulls(date)
        if per is None:
            if covered.is_empty():
                self._gap(source.mart, f"no snapshot on or before {self.as_of}")
                return self._read(current)
            missing: list[object] = []
        else:
            # each export on its own: one without a snapshot that early is read as it is today
            today = self._read(f"select distinct {per} from marts.{source.mart}")[per].to_list()
            missing = sorted(set(today) - set(covered[per].to_list()))
            for value in missing:
                self._gap(f"{source.mart} ({value})", f"no snapshot on or before {self.as_of}")
        names = ", ".join(sql.Identifier(c).as_string(self.conn) for c in self._columns(source.mart))
        keys = f"{per}, {date}" if per else date
        parts = [f"select {names} from marts.{source.history} join ({chosen}) as chosen using ({keys})"]
        params: list[object] = [self.as_of]
        if missing:
            parts.append(f"select {names} from marts.{source.mart} where {per} = any(%s)")
            params.append(missing)
        return self._read(f"select {columns} from ({' union all '.join(parts)}) as {source.mart}{tail}", params)

    def master_data(self, source: MasterSource, columns: str) -> pl.DataFrame:
        """``select <columns>`` from the mart, or from its snapshot's versions valid on ``as_of``."""
        current = f"select {columns} from marts.{source.mart}"
        latest = self.conn.execute(f"select max(export_date) from marts.{source.mart}").fetchone()
        if latest is None or latest[0] is None or latest[0] <= self.as_of:
            return self._read(current)
        if not self._exists("snapshots", source.snapshot):
            self._gap(source.mart, f"snapshots.{source.snapshot} does not exist (run dbt snapshot)")
            return self._read(current)
        snapshot = sql.Identifier("snapshots", source.snapshot).as_string(self.conn)
        first = self.conn.execute(f"select min(dbt_valid_from)::date from {snapshot}").fetchone()
        if first is None or first[0] is None or first[0] > self.as_of:
            since = "is empty" if first is None or first[0] is None else f"starts on {first[0]}, after that date"
            self._gap(source.mart, f"snapshots.{source.snapshot} {since}")
            return self._read(current)
        valid = f"select * from {snapshot} where dbt_valid_from <= %s and (dbt_valid_to is null or dbt_valid_to > %s)"
        return self._read(f"select {columns} from ({valid}) as {source.mart}", [self.as_of, self.as_of])

    def _gap(self, name: str, why: str) -> None:
        logger.warning("plan as of %s: %s read as it is today: %s", self.as_of, name, why)
        self.gaps.append(name)

    def _exists(self, schema: str, relation: str) -> bool:
        row = self.conn.execute("select to_regclass(%s) is not null", [f"{schema}.{relation}"]).fetchone()
        return bool(row and row[0])

    def _columns(self, relation: str) -> list[str]:
        rows = self.conn.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' and table_name = %s"
            " order by ordinal_position",
            [relation],
        ).fetchall()
        return [row[0] for row in rows]

    def _read(self, query: str, params: list[object] | None = None) -> pl.DataFrame:
        return pgframes.read_frame(self.conn, query, params)
