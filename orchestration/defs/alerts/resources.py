"""Where the daily alert summary is mailed: the ``FMRP_SMTP_*`` settings as a Dagster resource."""

import dagster as dg

from fmrp.settings import get_settings
from mrp.alerts import SmtpConfig

_DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


class AlertMailResource(dg.ConfigurableResource):
    """The SMTP server and recipients of the daily summary, from ``FMRP_SMTP_*`` (the password only from there)."""

    def config(self) -> SmtpConfig | None:
        """The SMTP configuration, or None when it is incomplete (see :meth:`missing`)."""
        if self.missing():
            return None
        settings = get_settings()
        security = settings.smtp_security
        return SmtpConfig(
            host=settings.smtp_host or "",
            port=settings.smtp_port or _DEFAULT_PORTS[security],
            sender=settings.smtp_sender,
            recipients=tuple(_recipients()),
            starttls=security == "starttls",
            use_ssl=security == "ssl",
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=settings.smtp_timeout_seconds,
        )

    def missing(self) -> str:
        """Why no summary can be sent (empty when the configuration is complete)."""
        if not get_settings().smtp_host:
            return "FMRP_SMTP_HOST is not set: the daily alert summary is not emailed"
        if not _recipients():
            return "FMRP_SMTP_RECIPIENTS is empty: nobody to email the daily alert summary to"
        return ""


def _recipients() -> list[str]:
    return [address.strip() for address in get_settings().smtp_recipients.split(",") if address.strip()]


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"alert_mail": AlertMailResource()})
