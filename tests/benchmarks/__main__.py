"""`make bench`: run the benchmarks and print one table (record the numbers in docs/benchmarks.md)."""

from __future__ import annotations

import os
import platform
import sys

from rich.console import Console
from rich.table import Table

from tests.benchmarks import crp, forecasting, foundation, imap, ingestion, mrp, tft

SUITES = {
    "foundation": foundation.run,
    "crp": crp.run,
    "imap": imap.run,
    "ingestion": ingestion.run,
    "mrp": mrp.run,
    "forecasting": forecasting.run,
    "tft": tft.run,
}


def main(names: list[str]) -> None:
    console = Console()
    table = Table(title=f"forecasting-mrp benchmarks ({os.cpu_count()} cores, Python {platform.python_version()})")
    table.add_column("suite")
    table.add_column("measure", no_wrap=True)
    table.add_column("value", justify="right")
    for name in names or list(SUITES):
        console.print(f"running {name} …")
        for measure, value in SUITES[name]():
            table.add_row(name, measure, value)
    console.print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
