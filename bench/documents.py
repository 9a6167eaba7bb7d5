"""How many one-page monthly statements WeasyPrint renders per second on this machine.

    make bench                      (all benchmarks), or
    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/documents.py [--seconds S]

Renders the real statement template (billing/documents/templates/documents/statement.html)
with realistic figures (a month of 12 entries) through billing.documents.pdf.pdf_render, the
same path the Celery task takes minus the database and storage. Prints, each a median of
--repeat runs:

- the time of one render in one process (latency);
- statements per second with one process and with --workers processes (default 2: the
  machine's two cores, as two Celery worker processes would use them);
- the CPU time of one render and the capacity it gives: --workers ÷ CPU seconds per statement
  (what --workers busy cores can render, whatever else runs on the machine now);
- the PDF's size and pages, to show it is one page with embedded CJK font subsets;
- a same-run baseline: a one-line Latin PDF through the same path, and the load average, so a
  run on a busy machine can be told from a slow statement.

Target (issue 6 documents brief): at least 8 one-page statements/s on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def setup_django() -> None:
    # Only templates and settings are used: no query is made, so any DATABASE_URL will do.
    os.environ.setdefault("DATABASE_URL", "postgres://unused@localhost/unused")
    os.environ.setdefault("REDIS_URL", "redis://localhost")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def statement_html(n: int = 0) -> str:
    from types import SimpleNamespace

    from django.template.loader import render_to_string
    from django.utils import timezone, translation

    month = dt.date(2026, 10, 1)
    rows = []
    for day in range(1, 13):
        category = ("sales", "sales", "sales", "returns", "settlements", "payouts")[day % 6]
        amount = {"sales": 7000 + day * 37 + n, "returns": -1750, "payouts": -5000}.get(category, 0)
        rows.append(
            {
                "date": f"2026-10-{day:02d}",
                "category": category,
                "order_number": f"2610{day:02d}1530AB12CD",
                "amount_fen": amount,
            }
        )
    kinds = ("creator_commission_pending", "creator_commission_available")
    figures = {
        "kind": "creator",
        "owner_name": "小雨的育儿好物店",
        "month": month.isoformat(),
        "orders": 8,
        "buyers_paid_fen": 258_000 + n,
        "platform_fee_fen": 12_500,
        "opening_total_fen": 100_000,
        "totals": {"sales": 87_500, "returns": -17_500, "settlements": 0, "payouts": -50_000},
        "movements": {"settlements": dict(zip(kinds, (-70_000, 70_000), strict=True))},
        "closing": dict(zip(kinds, (30_000, 90_000), strict=True)),
        "closing_total_fen": 120_000,
        "rows": rows,
        "rows_truncated": False,
    }
    with translation.override("zh-hans"):
        return render_to_string(
            "documents/statement.html",
            {
                "statement": SimpleNamespace(version=0),
                "f": figures,
                "generated_at": timezone.localtime(),
            },
        )


def _worker_init() -> None:
    setup_django()


def _render(n: int) -> int:
    from billing.documents.pdf import pdf_render

    return len(pdf_render(html=statement_html(n)))


BASELINE_HTML = "<!DOCTYPE html><html><body><p>baseline</p></body></html>"


def _render_baseline(_n: int) -> int:
    from billing.documents.pdf import pdf_render

    return len(pdf_render(html=BASELINE_HTML))


def rate(workers: int, seconds: float, job=_render) -> float:
    """Documents per second rendered by WORKERS processes during about SECONDS."""
    # spawn, not fork: a Pango font map made in the parent is not shared into children.
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_worker_init) as pool:
        pool.map(job, range(workers * 2))  # warm up: fonts, fontconfig cache, templates
        done, n, start = 0, 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            batch = workers * 4
            pool.map(job, range(n, n + batch), chunksize=1)
            done += batch
            n += batch
        return done / (time.perf_counter() - start)


def pdf_pages(pdf: bytes) -> str:
    done = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, timeout=60)
    found = re.search(rb"^Pages:\s+(\d+)", done.stdout, re.M)
    return found[1].decode() if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    from billing.documents.pdf import pdf_render

    pdf = pdf_render(html=statement_html())
    walls, cpus = [], []
    for i in range(max(8, args.repeat)):
        wall, cpu = time.perf_counter(), time.process_time()
        pdf_render(html=statement_html(i))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    cpu = statistics.median(cpus)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"one statement: {len(pdf) / 1024:.0f} KiB PDF, {pdf_pages(pdf)} page(s)")
    print(
        f"one process: median {statistics.median(walls) * 1000:.0f} ms wall, "
        f"{cpu * 1000:.0f} ms CPU per statement"
    )
    base = statistics.median(rate(1, args.seconds / 2, _render_baseline) for _ in range(2))
    print(f"baseline (one-line Latin PDF), 1 process: {base:.1f} PDFs/s")
    single = statistics.median(rate(1, args.seconds) for _ in range(args.repeat))
    print(f"1 process:  {single:.1f} statements/s ({single / base:.2f}× baseline)")
    many = statistics.median(rate(args.workers, args.seconds) for _ in range(args.repeat))
    print(f"{args.workers} processes: {many:.1f} statements/s measured (target ≥ 8 on 2 cores)")
    print(
        f"capacity of {args.workers} free cores: {args.workers / cpu:.1f} statements/s "
        f"(from {cpu * 1000:.0f} ms CPU each); cores here: {os.cpu_count()}, "
        f"load average after: {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
