"""An ERP REST API for tests: a real HTTP server on loopback serving paginated JSON, with auth and faults.

``ErpApiPeer.records[path]`` are the records of an endpoint; the body is ``{"data": {"items": [...]}, "next": ...}``.
``mode`` picks the pagination (``page``, ``offset``, ``next_link``, ``cursor``, ``none``). ``faults`` is a queue
consumed one per request: ``"500"``/``"503"``/``"404"`` answer that status, ``"timeout"`` answers only after
``slow_seconds``, ``"garbage"`` answers a non-JSON body.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class ErpApiPeer:
    """State of the test API; tests change it freely between requests."""

    url: str = ""
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    mode: str = "page"
    auth: tuple[str, str] | None = None  # ("api_key", key) | ("bearer", token) | ("basic", "user:password")
    faults: list[str] = field(default_factory=list)
    slow_seconds: float = 1.0
    requests: list[str] = field(default_factory=list)

    def authorised(self, headers: Any) -> bool:
        if self.auth is None:
            return True
        kind, secret = self.auth
        if kind == "api_key":
            return headers.get("X-API-Key") == secret
        if kind == "bearer":
            return headers.get("Authorization") == f"Bearer {secret}"
        expected = "Basic " + base64.b64encode(secret.encode()).decode()
        return headers.get("Authorization") == expected

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        items = self.records.get(path)
        if items is None:
            return 404, {"error": f"no endpoint {path}"}
        one = {k: v[0] for k, v in query.items()}
        if self.mode == "page":
            page, size = int(one.get("page", 1)), int(one.get("per_page", 100))
            return 200, {"data": {"items": items[(page - 1) * size : page * size]}}
        if self.mode == "offset":
            offset, limit = int(one.get("offset", 0)), int(one.get("limit", 100))
            return 200, {"data": {"items": items[offset : offset + limit]}}
        if self.mode in ("next_link", "cursor"):
            start = int(one.get("cursor", 0))
            chunk = items[start : start + 2]
            following: str | None = None
            if start + 2 < len(items):
                following = f"{path}?cursor={start + 2}" if self.mode == "next_link" else str(start + 2)
            return 200, {"data": {"items": chunk}, "next": following}
        return 200, {"data": {"items": items}}


class _Handler(BaseHTTPRequestHandler):
    peer: ErpApiPeer

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        peer = self.peer
        parts = urlsplit(self.path)
        peer.requests.append(self.path)
        fault = peer.faults.pop(0) if peer.faults else None
        if fault == "timeout":
            time.sleep(peer.slow_seconds)
        elif fault == "garbage":
            self._send(200, b"<html>maintenance</html>", "text/html")
            return
        elif fault is not None:
            self._send(int(fault), json.dumps({"error": f"injected {fault}"}).encode())
            return
        if not peer.authorised(self.headers):
            self._send(401, b'{"error": "invalid credentials"}')
            return
        status, body = peer.answer(parts.path, parse_qs(parts.query))
        self._send(status, json.dumps(body).encode())


@pytest.fixture
def erp_api() -> Iterator[ErpApiPeer]:
    """A fresh API per test on a free loopback port."""
    peer = ErpApiPeer()
    handler = type("Handler", (_Handler,), {"peer": peer})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    peer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="erp-api-peer", daemon=True)
    thread.start()
    yield peer
    server.shutdown()
    server.server_close()
