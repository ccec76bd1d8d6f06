"""Label sheets at scale (issue 5 item 3): how long a batch takes to become a vector PDF
on label stock, and how much memory the process needs while it does.

    .venv/bin/python benchmarks/labels.py --count 10000 --stock a4-24
    .venv/bin/python benchmarks/labels.py --count 100000 --stock a4-65

The labels are made on the fly and the PDF goes to a temporary file, as `onboard codes
print` will do; the peak resident memory of the process is reported, so running with ten
times the labels shows whether memory stays flat.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Iterator

from onboard.adapters.labels.sheets import STOCKS, StockName, sheet_pdf
from onboard.adapters.labels.single import Label
from onboard.adapters.labels.symbol import ErrorCorrection


def batch(count: int) -> Iterator[Label]:
    for n in range(count):
        token = f"7K3M{n:09d}"
        yield Label(
            f"https://onboard.example.com/c/{token}",
            token,
            batch="2026-11 Kiel",
            organization="Nordwind Facility Services",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--stock", choices=[s.value for s in StockName], default="a4-24")
    parser.add_argument("--error", choices=[e.value for e in ErrorCorrection], default="M")
    args = parser.parse_args()
    stock = STOCKS[StockName(args.stock)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        done = sheet_pdf(batch(args.count), stock, out, error=ErrorCorrection(args.error))
        seconds = time.perf_counter() - started
        size = out.tell()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{done} labels on {stock.name.value} in {seconds:.2f} s "
        f"({done / seconds:,.0f} labels/s), {size / 1e6:.1f} MB of PDF, "
        f"peak RSS {peak / 1024:.0f} MiB (before: {before / 1024:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
