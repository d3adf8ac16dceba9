"""The rows of ``make bench`` about what storage holds as it grows (issue "Storage that survives
its operators and its growth"): a state that grows with every event on PostgreSQL (row 10), many
open gaps on PostgreSQL (row 11), and the server's memory with large events (row 12)."""

from __future__ import annotations

from benchmarks import growing_state, memory, waiting
from benchmarks.harness import Row

__all__ = ["growing_state_rows", "memory_rows", "waiting_rows"]


def growing_state_rows() -> list[Row]:
    """200 events of 10 KiB into one rocket whose state grows with each, on PostgreSQL."""
    print("a growing state on PostgreSQL (200 x 10 KiB):", flush=True)
    run = growing_state.measure()
    if run is None:
        return [Row("10. growing state on PostgreSQL", "not measured", "<= 5 s", None)]
    return [
        Row(
            "10. 200 x 10 KiB growing-state events ingested",
            f"{run.ingest_seconds:.2f} s",
            "<= 5 s",
            run.ingest_seconds <= 5,
        ),
        Row(
            "10. database growth after VACUUM",
            f"{run.grown_mb:.1f} MB",
            "<= 20 MB",
            run.grown_mb <= 20,
        ),
        Row("10. database growth after VACUUM FULL", f"{run.kept_mb:.1f} MB", "", None),
        Row("10. server RSS after", f"{run.rss_mb:.0f} MB", "", None),
    ]


def waiting_rows(smoke: bool) -> list[Row]:
    """``/stalled`` and ``/metrics`` over many open gaps on PostgreSQL."""
    gaps = 2_000 if smoke else 600_000
    print(f"{gaps:,} open gaps on PostgreSQL:", flush=True)
    measured = waiting.measure(gaps, 5 if smoke else 20)
    rows = []
    for name, target in (
        ("stalled", 50.0),
        ("stalled, minSeconds=0", 50.0),
        ("metrics", None),
        ("stalled, offset 500,000", None),
    ):
        label = f"11. GET {waiting.READS[name]}, {gaps:,} gaps"
        wanted = "" if target is None else f"<= {target:g} ms"
        if measured is None:
            rows.append(Row(label, "not measured", wanted, None))
            continue
        ms = measured[name][0]
        rows.append(Row(label, f"{ms:.2f} ms", wanted, None if target is None else ms <= target))
    return rows


def memory_rows(smoke: bool) -> list[Row]:
    """The server's RSS while 10,000 events of 60 KB arrive with no stream subscriber."""
    events = 100 if smoke else 10_000
    rows = []
    for store in ("memory", "sqlite"):
        print(f"{events:,} events of 60 KB, {store} store:", flush=True)
        run = memory.measure(store, events=events)
        rows.append(
            Row(
                f"12. RSS, {events:,} events of 60 KB, {store} store",
                f"{max(run.during_mb, run.after_mb):.0f} MB",
                f"<= {memory.TARGET_MB:.0f} MB",
                run.ok,
            )
        )
    return rows
