"""ERP exports over a REST API (httpx): one endpoint per entity, paginated JSON records -> the entity's CSV.

Auth by an API key header, a bearer token or HTTP basic. Endpoint paths take ``{date}`` placeholders with an
optional strftime format (``/v1/estoque?data={date:%Y-%m-%d}``). Pagination by page number, by offset, or by a
next link / cursor in the body. Timeouts and connection errors and 5xx / 429 answers are retried with exponential
backoff; any other 4xx is a clear error at once (retrying cannot fix a wrong key or path).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import psycopg

from ingestion.fetched import (
    FetchedFile,
    already_fetched,
    fetched_file,
    record_fetch,
    records_to_csv,
    sha256_hex,
    write_erp_export,
)
from ingestion.schema import ENTITIES, ENTITY_BY_EXPORT, Entity

SOURCE = "erp_api"
Auth = Literal["none", "api_key", "bearer", "basic"]
Pagination = Literal["none", "page", "offset", "next"]


class ErpApiError(Exception):
    """A pull from the ERP API failed; the message names the request and what to check."""


class ErpApiConfigError(ErpApiError, ValueError):
    """The API settings are incomplete or an endpoint template is wrong."""


class ErpApiHttpError(ErpApiError):
    """The API answered with an error status (a 4xx at once, a 5xx after the retries)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ErpApiUnavailableError(ErpApiError):
    """Timeouts or connection errors on every attempt."""


class ErpApiResponseError(ErpApiError):
    """The body is not JSON or has no records at the configured path."""


@dataclass(frozen=True)
class ErpApiConfig:
    """How to pull ERP exports from a REST API.

    Attributes:
        base_url: ``https://erp.example.com/api``.
        endpoints: entity name or export name (``inventory`` / ``estoque``) -> path template with ``{date}``.
        auth: ``api_key`` (``api_key`` in header ``api_key_header``), ``bearer`` (``api_key`` as the token),
            ``basic`` (``username`` / ``password``) or ``none``.
        records_path: dotted path to the list of records in the body (``data.items``); empty: the body is the list.
        pagination: ``page`` (``page_param`` from ``first_page``, ``size_param`` = ``page_size``), ``offset``
            (``offset_param`` / ``limit_param``), ``next`` (the body's ``next_path`` holds the next URL, or a cursor
            sent back as ``cursor_param``), or ``none``. Page and offset stop at a short page.
        fields: per entity, canonical field -> JSON key (dotted for nested objects) where the keys differ from the
            field names and Portuguese headers.
        timeout: seconds per request; retries: attempts after the first; backoff: first wait, doubled each time.
        max_pages: a guard against an API that never stops paging.
    """

    base_url: str
    endpoints: Mapping[str, str]
    auth: Auth = "none"
    api_key: str | None = None
    api_key_header: str = "X-API-Key"
    username: str | None = None
    password: str | None = None
    records_path: str = ""
    pagination: Pagination = "none"
    page_param: str = "page"
    size_param: str = "per_page"
    first_page: int = 1
    offset_param: str = "offset"
    limit_param: str = "limit"
    page_size: int = 500
    next_path: str = "next"
    cursor_param: str = "cursor"
    fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0
    max_pages: int = 10_000

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ErpApiConfigError(f"ERP API base URL {self.base_url!r} must start with http:// or https://")
        if self.auth in ("api_key", "bearer") and not self.api_key:
            raise ErpApiConfigError(f"ERP API auth {self.auth!r} needs a key/token (FMRP_ERP_API_KEY)")
        if self.auth == "basic" and not (self.username and self.password is not None):
            raise ErpApiConfigError("ERP API basic auth needs FMRP_ERP_API_USER and FMRP_ERP_API_PASSWORD")
        if not self.endpoints:
            raise ErpApiConfigError("ERP API has no endpoints (FMRP_ERP_API_ENDPOINTS)")
        for name, template in self.endpoints.items():
            entity = endpoint_entity(name)
            try:
                template.format(date=date(2000, 1, 31))
            except (KeyError, IndexError, ValueError) as err:
                raise ErpApiConfigError(
                    f"ERP API endpoint for {entity.name}: {template!r} is not a valid template "
                    f"(only {{date}} or {{date:%Y-%m-%d}}-style placeholders): {err}"
                ) from err


def endpoint_entity(name: str) -> Entity:
    """The entity an endpoint key names (entity or export name); only ERP exports can be pulled."""
    entity = ENTITIES.get(name) or ENTITY_BY_EXPORT.get(name)
    if entity is None or entity.export is None:
        known = sorted(e.name for e in ENTITIES.values() if e.export)
        raise ErpApiConfigError(f"ERP API endpoint {name!r}: not an ERP export; use one of {known}")
    return entity


def _at_path(body: Any, path: str, where: str) -> Any:
    value = body
    walked: list[str] = []
    for part in [p for p in path.split(".") if p]:
        if not isinstance(value, dict) or part not in value:
            keys = sorted(value) if isinstance(value, dict) else type(value).__name__
            at = ".".join(walked) or "the body"
            raise ErpApiResponseError(f"{where}: no '{part}' in {at} (path '{path}'); found {keys}")
        value = value[part]
        walked.append(part)
    return value


class ErpApiClient:
    """Pulls records from the configured endpoints; use as a context manager.

    Args:
        config: the API.
        transport: an httpx transport (tests may pass one; normally the network).
        sleep: how to wait between retries.
    """

    def __init__(
        self,
        config: ErpApiConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._sleep = sleep
        headers = {"Accept": "application/json"}
        auth: httpx.Auth | None = None
        if config.auth == "api_key":
            headers[config.api_key_header] = str(config.api_key)
        elif config.auth == "bearer":
            headers["Authorization"] = f"Bearer {config.api_key}"
        elif config.auth == "basic":
            auth = httpx.BasicAuth(str(config.username), str(config.password))
        self._client = httpx.Client(
            base_url=config.base_url.rstrip("/") + "/",
            headers=headers,
            auth=auth,
            timeout=config.timeout,
            transport=transport,
            follow_redirects=True,
        )

    def __enter__(self) -> ErpApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def url_for(self, entity: Entity, business_date: date) -> str:
        """The endpoint's URL for a business date (placeholders filled), relative to the base URL."""
        for name, template in self.config.endpoints.items():
            if endpoint_entity(name) == entity:
                return template.format(date=business_date).lstrip("/")
        raise ErpApiConfigError(f"ERP API: no endpoint configured for {entity.name}")

    def _get(self, url: str, params: Mapping[str, str | int]) -> httpx.Response:
        """GET with retries on timeouts, connection errors, 5xx and 429; other 4xx raise at once."""
        attempts = self.config.retries + 1
        where = f"GET {self._client.build_request('GET', url, params=params or None).url}"
        last_problem = ""
        for attempt in range(1, attempts + 1):
            try:
                # params=None, not {}: httpx would drop a next link's own query string
                response = self._client.get(url, params=params or None)
            except httpx.TimeoutException as err:
                last_problem = f"timed out after {self.config.timeout} s ({type(err).__name__})"
            except httpx.TransportError as err:
                last_problem = f"connection failed: {err}"
            else:
                if response.status_code < 400:
                    return response
                excerpt = response.text[:300].strip()
                if response.status_code < 500 and response.status_code != 429:
                    hint = " (check FMRP_ERP_API_KEY / user / password)" if response.status_code in (401, 403) else ""
                    raise ErpApiHttpError(
                        f"{where}: HTTP {response.status_code}{hint}: {excerpt}", response.status_code
                    )
                last_problem = f"HTTP {response.status_code}: {excerpt}"
                if attempt == attempts:
                    raise ErpApiHttpError(f"{where}: {last_problem} (after {attempts} attempts)", response.status_code)
            if attempt < attempts:
                self._sleep(self.config.backoff * 2 ** (attempt - 1))
        raise ErpApiUnavailableError(f"{where}: {last_problem} (after {attempts} attempts)")

    def _page(self, url: str, params: Mapping[str, str | int]) -> tuple[list[Any], Any]:
        response = self._get(url, params)
        where = f"GET {response.request.url}"
        try:
            body = response.json()
        except ValueError as err:
            excerpt = response.text[:200].strip()
            raise ErpApiResponseError(f"{where}: the answer is not JSON ({err}): {excerpt!r}") from err
        records = _at_path(body, self.config.records_path, where)
        if not isinstance(records, list):
            path = self.config.records_path or "the body"
            raise ErpApiResponseError(f"{where}: {path} is a {type(records).__name__}, not a list of records")
        return records, body

    def fetch_records(self, entity: Entity, business_date: date) -> list[dict[str, Any]]:
        """Every record of the entity's endpoint for the day, across all pages."""
        config = self.config
        url = self.url_for(entity, business_date)
        records: list[Any] = []
        params: dict[str, str | int] = {}
        if config.pagination == "page":
            params = {config.page_param: config.first_page, config.size_param: config.page_size}
        elif config.pagination == "offset":
            params = {config.offset_param: 0, config.limit_param: config.page_size}
        for _ in range(config.max_pages):
            page, body = self._page(url, params)
            records.extend(page)
            if config.pagination == "none":
                return records
            if config.pagination == "next":
                following = _next_value(body, config.next_path)
                if following is None:
                    return records
                if following.startswith(("http://", "https://", "/")):
                    # a link is resolved like a browser would: "/v1/x?cursor=2" is from the host's root
                    url, params = str(self._client.base_url.join(following)), {}
                else:
                    params = {**params, config.cursor_param: following}
                continue
            if len(page) < config.page_size:
                return records
            if config.pagination == "page":
                params = {**params, config.page_param: int(params[config.page_param]) + 1}
            else:
                params = {**params, config.offset_param: int(params[config.offset_param]) + len(page)}
        raise ErpApiResponseError(f"GET {url}: more than {config.max_pages} pages; is the pagination setting right?")

    def fetch_export(self, entity: Entity, business_date: date) -> bytes:
        """The day's records as the entity's CSV (canonical headers), ready for the inbox."""
        url = self._client.base_url.join(self.url_for(entity, business_date))
        records = self.fetch_records(entity, business_date)
        return records_to_csv(records, entity, where=f"GET {url}", fields=self.config.fields.get(entity.name))


def _next_value(body: Any, path: str) -> str | None:
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if value in (None, "", False):
        return None
    return str(value)


def pull_exports(
    config: ErpApiConfig,
    conn: psycopg.Connection,
    inbox: Path,
    business_date: date,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[FetchedFile]:
    """Pull every configured endpoint for the day into ``<inbox>/erp`` and record it; endpoints whose content was
    already fetched for that URL are left alone (so a repeated pull changes nothing).

    An error on one endpoint stops the pull (raised after the endpoints before it were recorded): the next pull
    retries what is missing.
    """
    fetched: list[FetchedFile] = []
    with ErpApiClient(config, transport=transport, sleep=sleep) as client:
        for name in config.endpoints:
            entity = endpoint_entity(name)
            remote_ref = f"{config.base_url.rstrip('/')}/{client.url_for(entity, business_date)}"
            content = client.fetch_export(entity, business_date)
            if already_fetched(conn, SOURCE, remote_ref, sha256=sha256_hex(content)):
                continue
            pulled_at = datetime.now(UTC)
            local = write_erp_export(inbox, entity, business_date, content, mtime=pulled_at)
            row = fetched_file(SOURCE, remote_ref, entity, business_date, content, local, pulled_at)
            record_fetch(conn, row)
            fetched.append(row)
    return fetched


def pulled_for(conn: psycopg.Connection, config: ErpApiConfig, business_date: date) -> bool:
    """Whether every endpoint has been pulled for the day (the sensor pulls a day once)."""
    client_urls = [
        f"{config.base_url.rstrip('/')}/{template.format(date=business_date).lstrip('/')}"
        for template in config.endpoints.values()
    ]
    query = "select count(distinct remote_ref) from raw.fetched_files where source = %s and remote_ref = any(%s)"
    row = conn.execute(query, (SOURCE, client_urls)).fetchone()
    return bool(row and row[0] == len(set(client_urls)))
