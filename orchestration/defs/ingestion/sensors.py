"""Sensors that fetch from the ERP (SFTP, REST API, database) and the upload folder into the inbox, then ask for the
landing run of each new file's business-date partition.

Every sensor works the same way: the library fetches and records each file in ``raw.fetched_files``; the sensor then
requests a run for every ledger row of its sources newer than its cursor (so a file fetched by a tick that failed
half-way is still requested by the next one), with run key ``<source>:<remote ref>:<sha256>``. A business date whose
partition does not exist yet (today's file) waits in the cursor until it does.
"""

import json
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from fmrp.settings import get_settings
from ingestion.erp_api import ErpApiError, pull_exports, pulled_for
from ingestion.erp_db import ErpDbError, ensure_watermarks, pull_query
from ingestion.fetched import FetchedFile, ensure_ledger, fetched_since
from ingestion.imap import ImapCursor, PendingEmail, land_message, pending_emails
from ingestion.landing import ensure_raw_schema
from ingestion.sftp import SftpError, fetch_new_files
from ingestion.upload import process_upload_folder
from orchestration.defs.ingestion.assets import imap_run_request
from orchestration.defs.ingestion.partitions import daily_partitions
from orchestration.defs.ingestion.resources import (
    ErpApiResource,
    ErpDbResource,
    ImapResource,
    InboxResource,
    SftpResource,
)
from orchestration.defs.ingestion.schedules import IN_FLIGHT, ingestion_job, run_key_status
from orchestration.defs.warehouse.resources import WarehouseResource

# Dagster ends a sensor evaluation after 60 s: the mailbox stops retrying when a retry could end later than this
EMAIL_TICK_SECONDS = 45


def _status(configured: bool) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if configured else dg.DefaultSensorStatus.STOPPED


def _read_cursor(cursor: str | None) -> tuple[int, list[dict]]:
    state = json.loads(cursor) if cursor else {}
    return int(state.get("last_fetch_id", 0)), list(state.get("pending", []))


def _request(fetched: dict) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=fetched["run_key"],
        partition_key=fetched["partition"],
        asset_selection=[dg.AssetKey(["raw", fetched["entity"]])],
        tags={"fmrp/source": fetched["source"]},
    )


def _landing_requests(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, sources: list[str], problem: Exception | None
) -> dg.SensorResult:
    """Run requests for the ledger rows of ``sources`` past the cursor; ``problem`` (a fetch error) is raised when
    nothing new was recorded, so the tick shows as failed and the next one retries."""
    last_id, pending = _read_cursor(context.cursor)
    with warehouse.connect() as conn:
        new = fetched_since(conn, sources, last_id)
    waiting = pending + [_pending_entry(row) for _, row in new if row.business_date is not None]
    requests, still_pending = [], []
    for entry in waiting:
        if daily_partitions.has_partition_key(entry["partition"]):
            requests.append(_request(entry))
        elif entry["partition"] < daily_partitions.start.date().isoformat():
            context.log.warning(f"{entry['run_key']}: business date {entry['partition']} is before the partitions")
        else:
            still_pending.append(entry)  # today's (or a future) file: its partition does not exist yet
    if problem is not None:
        if not new:
            raise problem
        context.log.error(f"fetch stopped: {problem}")
    cursor = json.dumps({"last_fetch_id": new[-1][0] if new else last_id, "pending": still_pending})
    skip = None if requests else f"nothing new ({len(still_pending)} file(s) waiting for their partition)"
    return dg.SensorResult(run_requests=requests, cursor=cursor, skip_reason=skip)


def _pending_entry(row: FetchedFile) -> dict:
    assert row.business_date is not None
    return {
        "run_key": row.run_key,
        "partition": row.business_date.isoformat(),
        "entity": row.entity,
        "source": row.source,
    }


def _prepare(warehouse: WarehouseResource) -> None:
    with warehouse.connect() as conn:
        ensure_raw_schema(conn)
        ensure_ledger(conn)
        ensure_watermarks(conn)


@dg.sensor(
    name="erp_sftp_sensor",
    job=ingestion_job,
    minimum_interval_seconds=get_settings().sftp_poll_seconds,
    default_status=_status(bool(get_settings().sftp_host)),
    description="Fetches new ERP exports from the SFTP server (FMRP_SFTP_*) once their size holds still, records "
    "them in raw.fetched_files and requests the landing of each file's business date.",
)
def erp_sftp_sensor(
    context: dg.SensorEvaluationContext, sftp: SftpResource, inbox: InboxResource, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    config = sftp.get_config()
    if config is None:
        return dg.SkipReason("FMRP_SFTP_HOST is not set")
    _prepare(warehouse)
    problem: SftpError | None = None
    try:
        with warehouse.connect() as conn:
            result = fetch_new_files(config, conn, inbox.root())
        context.log.info(
            f"SFTP {config.address}: {len(result.fetched)} new, {result.unchanged} already fetched, "
            f"{len(result.still_changing)} still changing"
        )
    except SftpError as err:
        problem = err
    return _landing_requests(context, warehouse, ["sftp"], problem)


def _business_day(now: datetime | None = None) -> date | None:
    """Yesterday in factory time, once the pull hour has passed; None before it."""
    settings = get_settings()
    local = (now or datetime.now(ZoneInfo(settings.timezone))).astimezone(ZoneInfo(settings.timezone))
    return local.date() - timedelta(days=1) if local.hour >= settings.erp_pull_hour else None


@dg.sensor(
    name="erp_pull_sensor",
    job=ingestion_job,
    minimum_interval_seconds=900,
    default_status=_status(bool(get_settings().erp_api_url or get_settings().erp_db_url)),
    description="From FMRP_ERP_PULL_HOUR (factory time) pulls yesterday's exports from the ERP REST API once, and the "
    "ERP database queries past their watermarks every 15 minutes; requests the landing of what arrived.",
)
def erp_pull_sensor(
    context: dg.SensorEvaluationContext,
    erp_api: ErpApiResource,
    erp_db: ErpDbResource,
    inbox: InboxResource,
    warehouse: WarehouseResource,
) -> dg.SensorResult | dg.SkipReason:
    api, db_url = erp_api.get_config(), erp_db.get_url()
    if api is None and db_url is None:
        return dg.SkipReason("neither FMRP_ERP_API_URL nor FMRP_ERP_DB_URL is set")
    day = _business_day()
    if day is None:
        return dg.SkipReason(f"before {get_settings().erp_pull_hour}:00 factory time")
    _prepare(warehouse)
    problem: ErpApiError | ErpDbError | None = None
    with warehouse.connect() as conn:
        try:
            if api is not None and not pulled_for(conn, api, day):
                fetched = pull_exports(api, conn, inbox.root(), day)
                context.log.info(f"ERP API: {len(fetched)} export(s) for {day}")
            if db_url is not None:
                for query in erp_db.get_queries():
                    pulled = pull_query(db_url, conn, inbox.root(), query, day)
                    context.log.info(f"ERP query {query.name}: {pulled.rows} row(s), {len(pulled.fetched)} file(s)")
        except (ErpApiError, ErpDbError) as err:
            problem = err
    return _landing_requests(context, warehouse, ["erp_api", "erp_db"], problem)


@dg.sensor(
    name="upload_folder_sensor",
    job=ingestion_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Takes files dropped into <inbox>/upload (by hand or by the dashboard's upload page), moves each into "
    "the inbox folder of its kind and requests its landing. Refused ones go to upload/rejected with the reason; one "
    "whose kind is known is recorded as a rejected file and its day's landing requested (its check fails, alert).",
)
def upload_folder_sensor(
    context: dg.SensorEvaluationContext, inbox: InboxResource, warehouse: WarehouseResource
) -> dg.SensorResult:
    settings = get_settings()
    _prepare(warehouse)
    with warehouse.connect() as conn:
        result = process_upload_folder(
            inbox.root(),
            conn,
            settle_seconds=settings.upload_settle_seconds,
            max_bytes=int(settings.upload_max_mb * 1024 * 1024),
            reject_threshold_pct=settings.reject_threshold_pct,
            passwords=settings.workbook_passwords(),
        )
    for name, error in result.rejected.items():
        context.log.warning(f"upload {name} rejected: {error}")
    return _landing_requests(context, warehouse, ["upload"], None)


def _email_date_problem(email: PendingEmail) -> str | None:
    """Why an email's business date can never be a partition (None: it is one, or will be by tomorrow)."""
    day = email.business_date
    if day is None:
        return "no business date: neither the subject (DD/MM/YYYY), an attachment name nor the Date header has one"
    first = daily_partitions.start.date()
    today = datetime.now(ZoneInfo(get_settings().timezone)).date()
    if day < first:
        return f"business date {day} is before the first daily partition {first} (FMRP_PARTITION_START)"
    if day > today + timedelta(days=1):
        return f"business date {day} is in the future"
    return None


@dg.sensor(
    name="cash_closing_email_sensor",
    job=ingestion_job,
    minimum_interval_seconds=get_settings().imap_poll_seconds,
    default_status=_status(bool(get_settings().imap_host)),
    description="Polls the cash-closing mailbox (FMRP_IMAP_*) after its UID cursor and requests the raw/sales run of "
    "each new email's business date (run key: Message-ID + attachments' sha256); the run lands it and moves it to "
    "the processed or the quarantine folder. At most FMRP_IMAP_MAX_PER_TICK emails per tick: a backlog takes "
    "several ticks, in UID order.",
)
def cash_closing_email_sensor(
    context: dg.SensorEvaluationContext, imap: ImapResource, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    """One run per new email. A redelivered copy of an email already landed is filed straight away (no run); a copy
    whose first run is still going, or an email whose day has no partition yet (today's), is looked at again next
    tick (the cursor stops before it). A failed tick leaves the cursor where it was: nothing is skipped.

    The tick is bounded: the connect and read timeouts (FMRP_IMAP_CONNECT_TIMEOUT_SECONDS, FMRP_IMAP_TIMEOUT_SECONDS)
    bound each server operation, no retry starts that could end after EMAIL_TICK_SECONDS, and at most
    FMRP_IMAP_MAX_PER_TICK emails are fetched; the cursor stops after the last one taken."""
    if imap.get_config() is None:
        return dg.SkipReason("FMRP_IMAP_HOST is not set")
    requests: list[dg.RunRequest] = []
    limit = get_settings().imap_max_per_tick
    with imap.open(deadline=time.monotonic() + EMAIL_TICK_SECONDS) as mailbox:
        poll, pending = pending_emails(mailbox, ImapCursor.from_json(context.cursor), limit=limit)
        cursor, copies = poll.cursor, []
        for email in pending:
            status = run_key_status(context.instance, email.run_key)
            problem = _email_date_problem(email)
            partition = email.business_date.isoformat() if email.business_date else ""
            if status == dg.DagsterRunStatus.SUCCESS:
                copies.append(email)
            elif status in IN_FLIGHT or email.run_key in {r.run_key for r in requests}:
                cursor = cursor.hold_before(email.ref.uid)
            elif status is not None:
                context.log.warning(f"{email.run_key}: run ended {status.value}; cash_closing_email_schedule retries")
            elif problem is not None:
                context.log.warning(f"{email.ref.message_id} ({email.subject!r}) quarantined: {problem}")
                mailbox.quarantine(email.ref.uid, problem)
            elif daily_partitions.has_partition_key(partition):
                requests.append(imap_run_request(email, email.run_key))
            else:  # today's closing: its partition exists from midnight on
                cursor = cursor.hold_before(email.ref.uid)
        if copies:
            with warehouse.connect() as conn:
                ensure_raw_schema(conn)
                for email in copies:
                    outcome = land_message(mailbox, conn, email.ref)
                    context.log.info(f"{email.ref.message_id}: a copy of an email already landed, {outcome.action}")
    context.log.info(
        f"{mailbox.config.describe()}: {len(pending)} new email(s), {poll.ignored} other message(s)"
        f"{', mailbox renumbered (UIDVALIDITY changed): read again from the start' if poll.rescanned else ''}"
        f"{f', more waiting for the next tick (at most {limit} per tick)' if poll.more else ''}"
    )
    skip = None if requests else f"no new cash-closing email ({len(copies)} redelivered cop(ies) filed)"
    return dg.SensorResult(run_requests=requests, cursor=cursor.to_json(), skip_reason=skip)
