"""`fmrp dev` (what `make dev` runs): the Dagster webserver answers GraphQL with the whole graph, and stops cleanly."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from fmrp.settings import project_root

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


def test_dev_serves_the_asset_graph_over_graphql_and_stops_on_sigterm(isolated_settings):
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "fmrp"), "dev", "--port", str(port)],
        cwd=project_root(),
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        groups: dict[str, int] = {}
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not groups:
            time.sleep(2)
            try:
                nodes = graphql(port, "{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
            except OSError:
                continue
            for node in nodes:
                groups[node["groupName"]] = groups.get(node["groupName"], 0) + 1
        assert groups.get("ingestion", 0) >= 16, groups
        assert groups.get("warehouse", 0) >= 20, groups
        locations = graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }")
        assert locations["workspaceOrError"]["locationEntries"] == [{"name": "forecasting_mrp"}]
        children = psutil.Process(process.pid).children(recursive=True)
        assert any("dagster_webserver" in " ".join(child.cmdline()) for child in children)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    time.sleep(2)
    assert not [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
