"""Exceptions and alerts (PL-9): what needs a planner today, de-duplicated, acknowledgeable, mailed as a summary.

Alert types and severities (``critical`` > ``warning`` > ``info``):

=====================  ==========================================================================  =========
``past_due``           a planned order whose release date has passed                               critical
``projected_stockout`` projected stock below zero once past-due orders are taken to arrive late     critical
                       (first bucket per item)
``below_safety_stock`` projected stock in [0, safety stock) on the same basis (first bucket)        warning
``urgent_release``     a planned order to release in the current bucket                            warning
``capacity_overload``  a CRP bucket that is not ``ok``: ``overtime`` / ``pull_forward`` warning,    warning /
                       ``subcontract`` / ``no_capacity`` critical                                  critical
``forecast_deviation`` ``|actual - forecast| / forecast`` above the threshold (twice it: critical)  warning /
                                                                                                   critical
``pipeline_failure``   a failed job or asset run                                                   critical
``rejected_file``      a source file rejected whole at landing (unreadable, or over the bad-row    critical
                       threshold) and not since replaced by a later file for its day
``missing_email``      no cash-closing email for a working day had landed by the last retry (IN-9)  critical
=====================  ==========================================================================  =========

``pipeline_failure``, ``rejected_file`` and ``missing_email`` are about the pipeline, not about a plan:
:func:`failure_alerts`, :func:`rejected_file_alerts` and :func:`missing_email_alerts` build them on their own (the
run-failure sensor, the landing assets and the email check raise them as they happen), and the store keeps them
apart from the weekly plan's alerts so a plan rerun never drops them. A rejected file is critical: nothing of it
landed, so the day's figures for that source are missing (or stale) until someone asks the sender for a corrected
file, and the next plan runs on them. A missing cash-closing email is critical for the same reason.

**De-duplication**: every alert has an ``alert_key`` built from its type and what it is about (item or work
center and the *date* of its bucket, not the bucket index, which shifts every week), so the same condition
found by tomorrow's run has the same key. :func:`merge_acknowledgements` carries earlier acknowledgements over
to a new run's alerts by key; :func:`acknowledge` marks alerts acknowledged (pure functions on frames: the
caller stores them).

**Email**: :func:`daily_summary` renders the open (unacknowledged) alerts grouped by severity as plain text and
HTML; :func:`send_daily_summary` sends it with :mod:`smtplib` to the :class:`SmtpConfig` the caller gives, and
:func:`send_alerts` sends a few alerts at once, as they are raised (a failed run, a missing email).
"""

from __future__ import annotations

import datetime as dt
import html
import smtplib
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

import polars as pl

from mrp.crp import CapacityPlan
from mrp.engine import MrpPlan

ALERT_COLUMNS: tuple[str, ...] = (
    "alert_key",
    "alert_type",
    "severity",
    "sku",
    "work_center_code",
    "bucket_start",
    "value",
    "message",
    "acknowledged",
    "acknowledged_by",
    "acknowledged_at",
)
SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")
_TOLERANCE = 1e-9
_REJECTED_FILE_COLUMNS = ("entity", "business_date", "file_name", "file_sha256", "error", "rows_rejected")
_MESSAGE_CHARS = 400  # of a rejected file's error (the first bad values): enough to act on, short in a summary
_SCHEMA = pl.Schema(
    {
        "alert_key": pl.String(),
        "alert_type": pl.String(),
        "severity": pl.String(),
        "sku": pl.String(),
        "work_center_code": pl.String(),
        "bucket_start": pl.Date(),
        "value": pl.Float64(),
        "message": pl.String(),
    }
)


class AlertInputError(ValueError):
    """A frame or setting the alerts cannot use."""


class AlertDeliveryError(RuntimeError):
    """The SMTP server refused or could not be reached."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how the daily summary is sent (from the caller's settings; secrets from the environment).

    Attributes:
        host: SMTP server.
        port: Its port (25, 465 with ``use_ssl``, 587 with ``starttls``).
        sender: The From address.
        recipients: The To addresses.
        starttls: Upgrade the connection with STARTTLS before logging in.
        use_ssl: Connect over TLS from the start (SMTPS).
        user: Login user (no login when empty).
        password: Login password.
        timeout: Seconds to wait for the server.
    """

    host: str
    port: int
    sender: str
    recipients: Sequence[str] = field(default_factory=tuple)
    starttls: bool = False
    use_ssl: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.recipients:
            raise AlertInputError("SmtpConfig needs at least one recipient")
        if self.starttls and self.use_ssl:
            raise AlertInputError("SmtpConfig: choose starttls or use_ssl, not both")


def plan_alerts(
    plan: MrpPlan,
    *,
    capacity: CapacityPlan | None = None,
    forecast_accuracy: pl.DataFrame | None = None,
    deviation_threshold: float = 0.3,
    failures: pl.DataFrame | None = None,
    freq: str = "W",
) -> pl.DataFrame:
    """Every alert of a plan run (:data:`ALERT_COLUMNS`), the most severe first.

    Args:
        plan: The result of :func:`mrp.engine.run_mrp`.
        capacity: Its CRP, for ``capacity_overload``.
        forecast_accuracy: ``sku``, ``bucket_start`` (date), ``actual``, ``forecast``, for
            ``forecast_deviation``; rows with a forecast of 0 and an actual above 0 count as 100 % off.
        deviation_threshold: Relative deviation that raises a warning (twice it: critical).
        failures: ``name`` (job or asset), ``failed_at`` (datetime), ``error``, for ``pipeline_failure``.
        freq: The plan's buckets, ``W`` or ``M``: a monthly plan's messages speak of months, and its keys end in
            :data:`MONTHLY_KEY_SUFFIX` (both plans name a bucket by its first day, and a month starting on a Monday
            would otherwise share the key, and the acknowledgement, of that week's alert).

    Returns:
        The alerts, not acknowledged.
    """
    if not deviation_threshold > 0:
        raise AlertInputError(f"deviation_threshold must be > 0, got {deviation_threshold}")
    bucket = {"W": "week", "M": "month"}[freq]
    parts = [*_order_alerts(plan, bucket), *_stock_alerts(plan, bucket)]
    if capacity is not None:
        parts.append(_capacity_alerts(capacity, bucket))
    if forecast_accuracy is not None:
        parts.append(_deviation_alerts(forecast_accuracy, deviation_threshold, bucket))
    if freq == "M":
        parts = [part.with_columns(pl.col("alert_key") + MONTHLY_KEY_SUFFIX) for part in parts]
    if failures is not None:
        parts.append(_failure_alerts(failures))
    return _as_alerts(parts)


#: The end of a monthly plan's alert keys (see :func:`plan_alerts`).
MONTHLY_KEY_SUFFIX = "|M"


def failure_alerts(failures: pl.DataFrame) -> pl.DataFrame:
    """``pipeline_failure`` alerts (:data:`ALERT_COLUMNS`), one per job and day however often it failed.

    Args:
        failures: ``name`` (job or asset), ``failed_at`` (datetime; its date is the day of the key), ``error``.
    """
    return _as_alerts([_failure_alerts(failures)])


def rejected_file_alerts(rejected: pl.DataFrame) -> pl.DataFrame:
    """``rejected_file`` alerts (:data:`ALERT_COLUMNS`), one per file: the same file rejected again has the same key.

    Args:
        rejected: One row per rejected file: ``entity``, ``business_date`` (date), ``file_name``, ``file_sha256``,
            ``error`` and ``rows_rejected`` (as ``ingestion.rejected.standing_rejections`` returns them).
    """
    missing = [c for c in _REJECTED_FILE_COLUMNS if c not in rejected.columns]
    if missing:
        raise AlertInputError(f"rejected files lack the column(s) {', '.join(missing)}")
    error = pl.col("error").fill_null("rejected")
    reason = (
        pl.when(error.str.len_chars() > _MESSAGE_CHARS)
        .then(error.str.slice(0, _MESSAGE_CHARS) + "...")
        .otherwise(error)
    )
    alerts = rejected.select(
        pl.format("rejected_file|{}|{}|{}", "entity", "business_date", "file_sha256").alias("alert_key"),
        pl.lit("rejected_file").alias("alert_type"),
        pl.lit("critical").alias("severity"),
        pl.lit(None, pl.String).alias("sku"),
        pl.lit(None, pl.String).alias("work_center_code"),
        pl.col("business_date").cast(pl.Date).alias("bucket_start"),
        pl.col("rows_rejected").cast(pl.Float64).alias("value"),
        pl.format(
            "{} file {} for {} was rejected, nothing of it landed: {}", "entity", "file_name", "business_date", reason
        ).alias("message"),
    )
    return _as_alerts([alerts])


def missing_email_alerts(
    business_dates: Iterable[dt.date], *, mailbox: str = "", attempts: Sequence[str] = ()
) -> pl.DataFrame:
    """``missing_email`` alerts (:data:`ALERT_COLUMNS`), one per business day whose cash-closing email never landed.

    The key is the business day alone (``missing_email|2024-01-09``): the check evaluated again for the same day
    finds the same key.

    Args:
        business_dates: The days without a landed cash-closing email after the last retry.
        mailbox: Where the email was looked for (``imaps://user@host:port/INBOX``, no password), for the message.
        attempts: The local times it was looked for (``06:00``, ...), for the message.
    """
    days = sorted(set(business_dates))
    where = f" in {mailbox}" if mailbox else ""
    when = f" (looked at {', '.join(attempts)})" if attempts else ""
    alerts = pl.DataFrame({"bucket_start": days}, schema={"bucket_start": pl.Date}).select(
        pl.format("missing_email|{}", "bucket_start").alias("alert_key"),
        pl.lit("missing_email").alias("alert_type"),
        pl.lit("critical").alias("severity"),
        pl.lit(None, pl.String).alias("sku"),
        pl.lit(None, pl.String).alias("work_center_code"),
        "bucket_start",
        pl.lit(None, pl.Float64).alias("value"),
        pl.format(
            "no cash-closing email for {} has landed by the last retry{}{}: ask the finance team to send it, or drop "
            "the .eml into the inbox email folder and run the day's raw/sales partition",
            "bucket_start",
            pl.lit(where),
            pl.lit(when),
        ).alias("message"),
    )
    return _as_alerts([alerts])


def _as_alerts(parts: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """The parts as one frame of :data:`ALERT_COLUMNS`, one row per key, not acknowledged, the most severe first."""
    rank = {severity: k for k, severity in enumerate(SEVERITIES)}
    alerts = pl.concat([pl.DataFrame(schema=_SCHEMA), *(part.select(list(_SCHEMA)).cast(_SCHEMA) for part in parts)])
    return (
        alerts.unique("alert_key", keep="first", maintain_order=True)
        .with_columns(
            pl.lit(False).alias("acknowledged"),
            pl.lit(None, pl.String).alias("acknowledged_by"),
            pl.lit(None, pl.Datetime("us")).alias("acknowledged_at"),
            pl.col("severity").replace_strict(rank, return_dtype=pl.Int8).alias("_rank"),
        )
        .sort("_rank", "alert_type", "bucket_start", "sku", "work_center_code", nulls_last=True)
        .drop("_rank")
    )


def acknowledge(alerts: pl.DataFrame, keys: Iterable[str], by: str, at: dt.datetime) -> pl.DataFrame:
    """Mark alerts acknowledged by ``by`` at ``at``; alerts acknowledged before keep their first acknowledgement.

    Raises:
        AlertInputError: A key is not among the alerts, or ``by`` is empty.
    """
    if not by or not by.strip():
        raise AlertInputError("an acknowledgement needs the name of who gives it")
    wanted = set(keys)
    unknown = sorted(wanted - set(alerts["alert_key"].to_list()))
    if unknown:
        raise AlertInputError(f"unknown alert key(s): {unknown[:10]}")
    fresh = pl.col("alert_key").is_in(list(wanted)) & ~pl.col("acknowledged")
    return alerts.with_columns(
        pl.when(fresh).then(pl.lit(by.strip())).otherwise(pl.col("acknowledged_by")).alias("acknowledged_by"),
        pl.when(fresh)
        .then(pl.lit(at, pl.Datetime("us")))
        .otherwise(pl.col("acknowledged_at"))
        .alias("acknowledged_at"),
        (pl.col("acknowledged") | fresh).alias("acknowledged"),
    )


def merge_acknowledgements(alerts: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """A new run's alerts with the acknowledgements of earlier alerts that have the same key."""
    earlier = previous.filter(pl.col("acknowledged")).select(
        "alert_key", pl.col("acknowledged_by").alias("_by"), pl.col("acknowledged_at").alias("_at")
    )
    return (
        alerts.join(earlier, on="alert_key", how="left", maintain_order="left")
        .with_columns(
            (pl.col("acknowledged") | pl.col("_by").is_not_null()).alias("acknowledged"),
            pl.coalesce("acknowledged_by", "_by").alias("acknowledged_by"),
            pl.coalesce("acknowledged_at", "_at").alias("acknowledged_at"),
        )
        .drop("_by", "_at")
    )


def daily_summary(alerts: pl.DataFrame, day: dt.date, *, note: str = "") -> tuple[str, str, str]:
    """Subject, plain text and HTML of the day's summary of open (unacknowledged) alerts by severity.

    ``note`` is a line under the title (e.g. that there is no plan yet, so only the pipeline's alerts are in it).
    """
    open_alerts = alerts.filter(~pl.col("acknowledged"))
    counts = {severity: open_alerts.filter(pl.col("severity") == severity).height for severity in SEVERITIES}
    subject = f"[forecasting-mrp] {day.isoformat()}: " + ", ".join(f"{n} {s}" for s, n in counts.items())
    text, markup = _render(open_alerts, f"Open alerts on {day.isoformat()}: {open_alerts.height}", note)
    return subject, text, markup


def send_daily_summary(alerts: pl.DataFrame, config: SmtpConfig, day: dt.date, *, note: str = "") -> EmailMessage:
    """Send the day's summary (plain text with an HTML alternative) and return the message sent.

    Raises:
        AlertDeliveryError: The server could not be reached, refused the login or a recipient.
    """
    subject, text, markup = daily_summary(alerts, day, note=note)
    return _send(subject, text, markup, config)


def send_alerts(alerts: pl.DataFrame, config: SmtpConfig, subject: str) -> EmailMessage:
    """Send some alerts now, grouped by severity like the summary (for alerts that cannot wait for it).

    Raises:
        AlertDeliveryError: The server could not be reached, refused the login or a recipient.
    """
    text, markup = _render(alerts, subject)
    return _send(f"[forecasting-mrp] {subject}", text, markup, config)


def _render(alerts: pl.DataFrame, title: str, note: str = "") -> tuple[str, str]:
    """Plain text and HTML: the title (and the note), then the alerts grouped by severity, the most severe first."""
    text = [title, *([note] if note else []), ""]
    markup = [f"<h2>{html.escape(title)}</h2>", *([f"<p>{html.escape(note)}</p>"] if note else [])]
    for severity in SEVERITIES:
        rows = alerts.filter(pl.col("severity") == severity)
        if not rows.height:
            continue
        text.append(f"{severity.upper()} ({rows.height})")
        markup.append(f"<h3>{severity.upper()} ({rows.height})</h3><ul>")
        for row in rows.iter_rows(named=True):
            text.append(f"  - [{row['alert_type']}] {row['message']}")
            markup.append(f"<li><b>{html.escape(row['alert_type'])}</b> {html.escape(row['message'])}</li>")
        text.append("")
        markup.append("</ul>")
    if not alerts.height:
        text.append("Nothing needs attention.")
        markup.append("<p>Nothing needs attention.</p>")
    return "\n".join(text), "<html><body>" + "".join(markup) + "</body></html>"


def _send(subject: str, text: str, markup: str, config: SmtpConfig) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.sender
    message["To"] = ", ".join(config.recipients)
    message.set_content(text)
    message.add_alternative(markup, subtype="html")
    try:
        client: smtplib.SMTP
        if config.use_ssl:
            client = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        with client:
            if config.starttls:
                client.starttls(context=ssl.create_default_context())
            if config.user:
                client.login(config.user, config.password or "")
            client.send_message(message, from_addr=config.sender, to_addrs=list(config.recipients))
    except (OSError, smtplib.SMTPException) as error:
        raise AlertDeliveryError(f"sending {subject!r} through {config.host}:{config.port} failed: {error}") from error
    return message


def _order_alerts(plan: MrpPlan, bucket: str) -> list[pl.DataFrame]:
    orders = plan.planned_orders
    past_due = orders.filter(pl.col("is_past_due")).select(
        pl.format("past_due|{}|{}", "sku", "need_date").alias("alert_key"),
        pl.lit("past_due").alias("alert_type"),
        pl.lit("critical").alias("severity"),
        "sku",
        pl.lit(None, pl.String).alias("work_center_code"),
        pl.col("need_date").alias("bucket_start"),
        pl.col("quantity").alias("value"),
        pl.format("{}: order of {} needed {} should already have been released", "sku", "quantity", "need_date").alias(
            "message"
        ),
    )
    urgent = orders.filter(~pl.col("is_past_due") & (pl.col("release_bucket") == 0)).select(
        pl.format("urgent_release|{}|{}", "sku", "need_date").alias("alert_key"),
        pl.lit("urgent_release").alias("alert_type"),
        pl.lit("warning").alias("severity"),
        "sku",
        pl.lit(None, pl.String).alias("work_center_code"),
        pl.col("need_date").alias("bucket_start"),
        pl.col("quantity").alias("value"),
        pl.format("{}: release the order of {} needed {} this " + bucket, "sku", "quantity", "need_date").alias(
            "message"
        ),
    )
    return [past_due, urgent]


def _stock_alerts(plan: MrpPlan, bucket: str) -> list[pl.DataFrame]:
    late = (
        plan.planned_orders.filter(pl.col("is_past_due"))
        .group_by("sku", pl.col("receipt_bucket").cast(pl.Int32).alias("bucket"))
        .agg(pl.col("quantity").sum().alias("_late"))
    )
    # projected stock if the past-due orders do not arrive inside the horizon
    projected = (
        plan.records.select("sku", pl.col("bucket").cast(pl.Int32), "bucket_start", "projected_on_hand")
        .join(late, on=["sku", "bucket"], how="left")
        .sort("sku", "bucket")
        .with_columns(
            (pl.col("projected_on_hand") - pl.col("_late").fill_null(0.0).cum_sum().over("sku")).alias("_real")
        )
        .join(plan.items.select("sku", "safety_stock"), on="sku")
    )
    scale = _TOLERANCE * pl.max_horizontal(pl.lit(1.0), pl.col("safety_stock"))
    stockout = projected.filter(pl.col("_real") < -scale).group_by("sku").agg(pl.all().sort_by("bucket").first())
    below = (
        projected.filter((pl.col("_real") >= -scale) & (pl.col("_real") < pl.col("safety_stock") - scale))
        .group_by("sku")
        .agg(pl.all().sort_by("bucket").first())
    )
    return [
        stockout.select(
            pl.format("projected_stockout|{}|{}", "sku", "bucket_start").alias("alert_key"),
            pl.lit("projected_stockout").alias("alert_type"),
            pl.lit("critical").alias("severity"),
            "sku",
            pl.lit(None, pl.String).alias("work_center_code"),
            "bucket_start",
            pl.col("_real").alias("value"),
            pl.format(
                "{}: projected stock {} in the " + bucket + " of {}", "sku", pl.col("_real").round(2), "bucket_start"
            ).alias("message"),
        ),
        below.select(
            pl.format("below_safety_stock|{}|{}", "sku", "bucket_start").alias("alert_key"),
            pl.lit("below_safety_stock").alias("alert_type"),
            pl.lit("warning").alias("severity"),
            "sku",
            pl.lit(None, pl.String).alias("work_center_code"),
            "bucket_start",
            pl.col("_real").alias("value"),
            pl.format(
                "{}: projected stock {} below safety stock {} in the " + bucket + " of {}",
                "sku",
                pl.col("_real").round(2),
                "safety_stock",
                "bucket_start",
            ).alias("message"),
        ),
    ]


def _capacity_alerts(capacity: CapacityPlan, bucket: str) -> pl.DataFrame:
    critical = pl.col("suggestion").is_in(["subcontract", "no_capacity"])
    return capacity.load.filter(pl.col("suggestion") != "ok").select(
        pl.format("capacity_overload|{}|{}", "work_center_code", "bucket_start").alias("alert_key"),
        pl.lit("capacity_overload").alias("alert_type"),
        pl.when(critical).then(pl.lit("critical")).otherwise(pl.lit("warning")).alias("severity"),
        pl.lit(None, pl.String).alias("sku"),
        "work_center_code",
        "bucket_start",
        pl.col("utilisation").alias("value"),
        pl.format(
            "work center {}: load {} h on {} h in the " + bucket + " of {}: {}",
            "work_center_code",
            pl.col("load_hours").round(1),
            pl.col("capacity_hours").round(1),
            "bucket_start",
            "suggestion",
        ).alias("message"),
    )


def _deviation_alerts(accuracy: pl.DataFrame, threshold: float, bucket: str) -> pl.DataFrame:
    missing = [c for c in ("sku", "bucket_start", "actual", "forecast") if c not in accuracy.columns]
    if missing:
        raise AlertInputError(f"forecast_accuracy lacks the column(s) {', '.join(missing)}")
    deviation = (pl.col("actual") - pl.col("forecast")).abs() / pl.col("forecast")
    frame = accuracy.select(
        pl.col("sku").cast(pl.String),
        pl.col("bucket_start").cast(pl.Date),
        pl.col("actual").cast(pl.Float64),
        pl.col("forecast").cast(pl.Float64),
    ).with_columns(
        pl.when(pl.col("forecast") > 0)
        .then(deviation)
        .when(pl.col("actual") > 0)
        .then(pl.lit(1.0))
        .otherwise(pl.lit(0.0))
        .alias("_deviation")
    )
    return frame.filter(pl.col("_deviation") > threshold).select(
        pl.format("forecast_deviation|{}|{}", "sku", "bucket_start").alias("alert_key"),
        pl.lit("forecast_deviation").alias("alert_type"),
        pl.when(pl.col("_deviation") > 2 * threshold)
        .then(pl.lit("critical"))
        .otherwise(pl.lit("warning"))
        .alias("severity"),
        "sku",
        pl.lit(None, pl.String).alias("work_center_code"),
        "bucket_start",
        pl.col("_deviation").alias("value"),
        pl.format(
            "{}: actual {} against forecast {} in the " + bucket + " of {} ({}% off)",
            "sku",
            "actual",
            pl.col("forecast").round(2),
            "bucket_start",
            (pl.col("_deviation") * 100).round(0).cast(pl.Int64),
        ).alias("message"),
    )


def _failure_alerts(failures: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("name", "failed_at", "error") if c not in failures.columns]
    if missing:
        raise AlertInputError(f"failures lacks the column(s) {', '.join(missing)}")
    return failures.select(
        pl.format("pipeline_failure|{}|{}", "name", pl.col("failed_at").cast(pl.Date)).alias("alert_key"),
        pl.lit("pipeline_failure").alias("alert_type"),
        pl.lit("critical").alias("severity"),
        pl.lit(None, pl.String).alias("sku"),
        pl.lit(None, pl.String).alias("work_center_code"),
        pl.col("failed_at").cast(pl.Date).alias("bucket_start"),
        pl.lit(None, pl.Float64).alias("value"),
        pl.format("{} failed at {}: {}", "name", pl.col("failed_at").dt.strftime("%Y-%m-%d %H:%M"), "error").alias(
            "message"
        ),
    )
