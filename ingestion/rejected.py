"""Files that stand rejected (IN-8): what the landing ledger says is missing from a range of business days.

A file rejected whole at landing (unreadable, over the size cap, unknown headers, or more bad rows than the reject
threshold allows) is a ``rejected`` batch in ``raw.batches`` with its error, and its bad rows are kept in
``raw.rejected_rows``. It *stands* rejected until a later file for the same entity and business date lands (a
corrected resend): landing the same rejected file again changes nothing, so it still stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import polars as pl
import psycopg

from fmrp import pgframes

#: Bad values shown per rejected file: enough to see the pattern ("the quantity has a decimal point").
SAMPLES_PER_FILE = 5


def standing_rejections(
    conn: psycopg.Connection, first: date, last: date, entities: Iterable[str] | None = None
) -> pl.DataFrame:
    """The files rejected for business days in [first, last] that no later file of their day has replaced.

    Args:
        conn: The warehouse (with the raw schema).
        first: First business day.
        last: Last business day.
        entities: Only these raw tables (all when None).

    Returns:
        One row per file, by day and entity: ``batch_id``, ``entity``, ``business_date``, ``file_name``,
        ``file_sha256``, ``source``, ``source_ref``, ``received_at``, ``error``, ``rows_rejected``.
    """
    names = None if entities is None else sorted(set(entities))
    return pgframes.read_frame(
        conn,
        """
        select b.batch_id, b.entity, b.business_date, b.file_name, b.file_sha256, b.source, b.source_ref,
               b.received_at, b.error, b.rows_rejected
        from raw.batches b
        where b.status = 'rejected'
          and b.business_date between %s and %s
          and (%s::text[] is null or b.entity = any(%s::text[]))
          and not exists (
              select 1 from raw.batches later
              where later.entity = b.entity and later.business_date = b.business_date
                and later.status <> 'rejected'
                and (later.received_at, later.batch_id) > (b.received_at, b.batch_id)
          )
        order by b.business_date, b.entity, b.batch_id
        """,
        [first, last, names, names],
    )


def rejected_row_samples(
    conn: psycopg.Connection, batch_ids: Iterable[int], per_batch: int = SAMPLES_PER_FILE
) -> pl.DataFrame:
    """The first bad values of each batch: ``batch_id``, ``row_number``, ``field``, ``header``, ``value``, ``reason``.

    A file rejected unread (unreadable, too large, unknown headers) has none.
    """
    return pgframes.read_frame(
        conn,
        """
        select batch_id, row_number, field, header, value, reason
        from (
            select r.*, row_number() over (partition by batch_id order by row_number, field) as n
            from raw.rejected_rows r
            where batch_id = any(%s)
        ) numbered
        where n <= %s
        order by batch_id, row_number, field
        """,
        [list(batch_ids), per_batch],
    )
