"""Raw landing assets: the day's source files -> ``raw.<entity>`` with lineage, one transaction per file."""

import time
from collections import Counter
from datetime import date, timedelta

import dagster as dg
import polars as pl
from pydantic import Field

from fmrp.settings import get_settings
from ingestion.imap import MessageRef, PendingEmail, land_message
from ingestion.landing import InboxFile, LandingResult, ensure_raw_schema, land_inbox_files
from ingestion.rejected import rejected_row_samples, standing_rejections
from ingestion.schema import ENTITIES
from mrp import store
from mrp.alerts import rejected_file_alerts
from orchestration.defs.ingestion.partitions import daily_partitions
from orchestration.defs.ingestion.resources import ImapResource, InboxResource
from orchestration.defs.warehouse.resources import WarehouseResource

ERP_ENTITIES = [e for e in ENTITIES.values() if e.export]
NO_REJECTED_FILES = "no_rejected_files"
NO_REJECTED_ROWS = "no_rejected_rows"
RAW_SALES = dg.AssetKey(["raw", "sales"])
REJECTED_FILES_DESCRIPTION = (
    "Fails (ERROR, not blocking) while a file of the days stands rejected (unreadable, or over "
    "FMRP_REJECT_THRESHOLD_PCT bad rows) and no later file of its day replaced it; each raises a rejected_file alert."
)
MAILBOX = dg.AssetKey(["imap", "cash_closing_mailbox"])


class ImapMessage(dg.Config):
    """One message of the cash-closing mailbox, as cash_closing_email_sensor saw it."""

    mailbox: str
    uidvalidity: int
    uid: int
    message_id: str


class RawSalesConfig(dg.Config):
    """Extra emails to take from the IMAP mailbox (set by the email sensor and schedule); none = inbox only."""

    imap_messages: list[ImapMessage] = Field(
        default_factory=list, description="Messages to fetch, land and then move to processed or quarantine."
    )


def imap_run_request(pending: PendingEmail, run_key: str) -> dg.RunRequest:
    """The landing run of one waiting email: its business date's partition of raw/sales, told which message."""
    assert pending.business_date is not None
    ref = pending.ref
    message = {"mailbox": ref.mailbox, "uidvalidity": ref.uidvalidity, "uid": ref.uid, "message_id": ref.message_id}
    return dg.RunRequest(
        run_key=run_key,
        partition_key=pending.business_date.isoformat(),
        asset_selection=[RAW_SALES],
        run_config={"ops": {"raw__sales": {"config": {"imap_messages": [message]}}}},
        tags={"fmrp/source": "imap", "fmrp/message_id": ref.message_id[:200]},
    )


raw_batches = dg.AssetSpec(
    ["raw", "batches"],
    group_name="ingestion",
    kinds={"postgres"},
    owners=["team:data-engineering"],
    description="The landing ledger: one row per file ever seen (entity, source, sha256, business date, status "
    "active/superseded/rejected, error). Written by every landing asset in the same transaction as its rows.",
)


cash_closing_mailbox = dg.AssetSpec(
    ["imap", "cash_closing_mailbox"],
    group_name="ingestion",
    kinds={"email"},
    owners=["team:data-engineering"],
    description="The IMAP mailbox the daily cash-closing emails arrive in (FMRP_IMAP_*): polled by "
    "cash_closing_email_sensor; its check cash_closing_email_received is the alert of IN-9.",
)


def _partition_days(context: dg.AssetExecutionContext) -> tuple[date, date]:
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


def _land(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, files: list[InboxFile]
) -> tuple[list[LandingResult], float]:
    started = time.perf_counter()
    progress = {"done": 0}

    def report(item: InboxFile, results: list[LandingResult]) -> None:
        progress["done"] += 1
        for result in results:
            if result.status == "rejected":
                context.log.warning(f"rejected {item.path.name}: {result.error}")
            elif result.rows_rejected:
                context.log.warning(
                    f"{item.path.name}: {result.rows_rejected} bad row(s) quarantined in raw.rejected_rows "
                    f"(batch {result.batch_id})"
                )
        if progress["done"] % 50 == 0 or progress["done"] == len(files):
            context.log.info(f"landed {progress['done']}/{len(files)} files")

    with warehouse.connect() as conn:
        ensure_raw_schema(conn)
        results = land_inbox_files(
            conn,
            files,
            on_file=report,
            reject_threshold_pct=get_settings().reject_threshold_pct,
            passwords=get_settings().workbook_passwords(),
        )
    return results, time.perf_counter() - started


def _land_from_mailbox(
    context: dg.AssetExecutionContext, imap: ImapResource, warehouse: WarehouseResource, messages: list[ImapMessage]
) -> list[LandingResult]:
    """Fetch, land and then move each named message (processed, or quarantine with its reason)."""
    results: list[LandingResult] = []
    with imap.open() as mailbox, warehouse.connect() as conn:
        ensure_raw_schema(conn)
        for message in messages:
            ref = MessageRef(message.mailbox, message.uidvalidity, message.uid, message.message_id)
            outcome = land_message(
                mailbox,
                conn,
                ref,
                reject_threshold_pct=get_settings().reject_threshold_pct,
                passwords=get_settings().workbook_passwords(),
            )
            statuses = ", ".join(f"{r.file_name} {r.status}" for r in outcome.results) or "nothing landed"
            context.log.info(f"{ref.message_id} ({mailbox.config.describe()}): {statuses}; {outcome.action}")
            if outcome.action == "quarantined":
                context.log.warning(f"{ref.message_id} moved to {mailbox.config.quarantine_folder}: {outcome.reason}")
            elif outcome.action == "missing":
                context.log.warning(f"{outcome.reason}: already processed by an earlier run, or moved by hand")
            results.extend(outcome.results)
    return results


def _summary(results: list[LandingResult], seconds: float) -> dict[str, dg.MetadataValue]:
    statuses = Counter(r.status for r in results)
    graded = [r for r in results if r.status != "duplicate" and r.quality_score is not None]
    return {
        "files": dg.MetadataValue.int(len(results)),
        "files_landed": dg.MetadataValue.int(statuses["landed"]),
        "files_duplicate": dg.MetadataValue.int(statuses["duplicate"]),
        "files_rejected": dg.MetadataValue.int(statuses["rejected"]),
        "rows_landed": dg.MetadataValue.int(sum(r.rows for r in results)),
        "rows_rejected": dg.MetadataValue.int(sum(r.rows_rejected for r in results)),
        "batches_superseded": dg.MetadataValue.int(sum(len(r.superseded) for r in results)),
        "quality_score_min": dg.MetadataValue.float(min((r.quality_score or 0.0) for r in graded) if graded else 100.0),
        "quality_grades": dg.MetadataValue.md(_grades_table(graded)),
        "seconds": dg.MetadataValue.float(round(seconds, 3)),
    }


def _grades_table(graded: list[LandingResult]) -> str:
    """Markdown: the letter count, then the 20 lowest-scoring batches (the ones to look at)."""
    if not graded:
        return "no batch graded"
    letters = Counter(r.quality_grade for r in graded)
    lines = [" ".join(f"{letter}: {letters[letter]}" for letter in "ABCD"), "", "| file | date | score | grade |"]
    lines.append("|---|---|---|---|")
    for r in sorted(graded, key=lambda r: (r.quality_score or 0.0, r.file_name))[:20]:
        lines.append(f"| {r.file_name} | {r.business_date} | {r.quality_score} | {r.quality_grade} |")
    return "\n".join(lines)


def _rejections(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, entities: list[str], first: date, last: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The days' files that stand rejected (this run's or an earlier one's) and samples of their bad values.

    Each raises a ``rejected_file`` alert in ``planning.pipeline_alerts`` (once: a rerun finds the same key), which
    the daily alert summary mails.
    """
    with warehouse.connect() as conn:
        rejected = standing_rejections(conn, first, last, entities)
        if rejected.is_empty():
            return rejected, pl.DataFrame()
        samples = rejected_row_samples(conn, rejected["batch_id"].to_list())
        store.ensure_schema(conn)
        raised = store.record_pipeline_alerts(conn, rejected_file_alerts(rejected))
    for message in raised["message"]:
        context.log.error(f"ALERT rejected_file: {message}")
    return rejected, samples


def _cell(text: object, limit: int = 200) -> str:
    """A markdown table cell: one line, no pipes, at most ``limit`` characters."""
    flat = " ".join(str(text).split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _rejected_check(asset_key: dg.AssetKey, rejected: pl.DataFrame, samples: pl.DataFrame) -> dg.AssetCheckResult:
    """Fails while a file of the days stands rejected, naming each file, why, and its first bad values.

    ERROR, but not blocking: a rejected file lands nothing (IN-8), so nothing bad can flow downstream, and a
    blocking failure would fail the landing step and with it the warehouse build of every other file of the day
    (warehouse_after_landing_sensor follows successful runs only). The failed check, the ``rejected_file`` alert
    and the daily summary keep it from passing silently.
    """
    mine = rejected.filter(pl.col("entity") == asset_key.path[-1]) if rejected.height else rejected
    errors = ["| file | day | source | bad rows | reason |", "|---|---|---|---|---|"]
    errors += [
        f"| {_cell(r['file_name'])} | {r['business_date']} | {_cell(r['source_ref'], 80)} | {r['rows_rejected']} "
        f"| {_cell(r['error'], 400)} |"
        for r in mine.head(20).iter_rows(named=True)
    ]
    names = {r["batch_id"]: r["file_name"] for r in mine.iter_rows(named=True)}
    bad = ["| file | row | column | value | reason |", "|---|---|---|---|---|"]
    if names and samples.height:
        bad += [
            f"| {_cell(names[r['batch_id']])} | {r['row_number']} | {_cell(r['header'] or r['field'] or '', 60)} "
            f"| {_cell(r['value'] or '', 60)} | {_cell(r['reason'])} |"
            for r in samples.filter(pl.col("batch_id").is_in(list(names))).iter_rows(named=True)
        ]
    batch_ids = ", ".join(str(b) for b in names)
    where = f"select * from raw.rejected_rows where batch_id in ({batch_ids})" if names else "none"
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=NO_REJECTED_FILES,
        passed=mine.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        description=None
        if mine.is_empty()
        else f"{mine.height} file(s) rejected, nothing of them landed: {', '.join(names.values())}",
        metadata={
            "rejected_files": dg.MetadataValue.int(mine.height),
            "errors": dg.MetadataValue.md("\n".join(errors) if names else "none"),
            "bad_values": dg.MetadataValue.md("\n".join(bad) if len(bad) > 2 else "none"),
            "where": dg.MetadataValue.text(where),
        },
    )


def _rejected_rows_check(asset_key: dg.AssetKey, results: list[LandingResult]) -> dg.AssetCheckResult:
    """WARN when files landed with bad rows quarantined (rows of files rejected whole count for the other check)."""
    partial = [r for r in results if r.status == "landed" and r.rows_rejected]
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=NO_REJECTED_ROWS,
        passed=not partial,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_rejected": dg.MetadataValue.int(sum(r.rows_rejected for r in partial)),
            "files": dg.MetadataValue.md(
                "\n".join(f"- {r.file_name}: {r.rows_rejected} row(s), batch {r.batch_id}" for r in partial[:20])
                or "none"
            ),
            "where": dg.MetadataValue.text("select * from raw.rejected_rows where batch_id = <batch>"),
        },
    )


@dg.asset(
    key=["raw", "sales"],
    group_name="ingestion",
    kinds={"python", "postgres"},
    owners=["team:data-engineering"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[
        dg.AssetCheckSpec(NO_REJECTED_FILES, asset=["raw", "sales"], description=REJECTED_FILES_DESCRIPTION),
        dg.AssetCheckSpec(
            NO_REJECTED_ROWS,
            asset=["raw", "sales"],
            description="No row of a landed cash-closing file was quarantined (raw.rejected_rows).",
        ),
    ],
)
def raw_sales(
    context: dg.AssetExecutionContext,
    config: RawSalesConfig,
    inbox: InboxResource,
    imap: ImapResource,
    warehouse: WarehouseResource,
):
    """Daily sales from the cash-closing emails: one row per SKU per business day as the email reported it,
    with lineage (batch, Message-ID, attachment sha256, received time, row number). A corrected resend
    supersedes the earlier email of the same day; the same email twice lands once. The emails come from the
    inbox folder and, in runs requested by cash_closing_email_sensor, from the IMAP mailbox."""
    first, last = _partition_days(context)
    files = inbox.files_between(first, last, "email")
    context.log.info(f"{len(files)} cash-closing emails for {first}..{last} in {inbox.root() / 'email'}")
    results, seconds = _land(context, warehouse, files)
    if config.imap_messages:
        started = time.perf_counter()
        results += _land_from_mailbox(context, imap, warehouse, config.imap_messages)
        seconds += time.perf_counter() - started
    yield dg.MaterializeResult(metadata={**_summary(results, seconds), "first_day": str(first), "last_day": str(last)})
    yield _rejected_check(RAW_SALES, *_rejections(context, warehouse, ["sales"], first, last))
    yield _rejected_rows_check(dg.AssetKey(["raw", "sales"]), results)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["raw", e.name],
            group_name="ingestion",
            kinds={"python", "postgres"},
            owners=["team:data-engineering"],
            description=f"ERP export `{e.export}_<YYYYMMDD>.csv` as delivered ({e.kind} data), with lineage per row.",
            skippable=True,
        )
        for e in ERP_ENTITIES
    ],
    check_specs=[
        *[
            dg.AssetCheckSpec(NO_REJECTED_FILES, asset=["raw", e.name], description=REJECTED_FILES_DESCRIPTION)
            for e in ERP_ENTITIES
        ],
        *[
            dg.AssetCheckSpec(
                NO_REJECTED_ROWS, asset=["raw", e.name], description="No row of a landed export was quarantined."
            )
            for e in ERP_ENTITIES
        ],
    ],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=True,
    name="raw_erp_exports",
)
def raw_erp_exports(context: dg.AssetExecutionContext, inbox: InboxResource, warehouse: WarehouseResource):
    """ERP exports of the days in the partition range, each file into its raw table."""
    first, last = _partition_days(context)
    selected = {key.path[-1] for key in context.selected_asset_keys}
    files = [f for f in inbox.files_between(first, last, "erp") if f.entity in selected]
    context.log.info(f"{len(files)} ERP exports for {first}..{last} in {inbox.root() / 'erp'}")
    results, seconds = _land(context, warehouse, files)
    rejected, samples = _rejections(context, warehouse, sorted(selected), first, last)
    for name in sorted(selected):
        mine = [r for r in results if r.entity == name]
        key = dg.AssetKey(["raw", name])
        yield dg.MaterializeResult(asset_key=key, metadata=_summary(mine, seconds))
        yield _rejected_check(key, rejected, samples)
        yield _rejected_rows_check(key, mine)
