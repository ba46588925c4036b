"""What every benchmark returns: named measurements with their targets, printed as one table."""

from __future__ import annotations

from dataclasses import dataclass

from bench.stack import percentile


@dataclass
class Result:
    bench: str
    metric: str
    value: float
    unit: str
    target: str = ""  # e.g. "< 100 ms", "≥ 0.5"
    ok: bool | None = None  # None: informational, no target

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("OK" if self.ok else "MISS")


def latency_results(bench: str, what: str, seconds: list[float], limit_ms: float | None = None,
                    limit_at: str = "p99", wall: float | None = None) -> list[Result]:
    """p50 / p99 / max (ms) and, given the wall time, requests per second."""
    ms = [s * 1000 for s in seconds]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    limit_target = f"< {limit_ms:g} ms" if limit_ms is not None else ""
    rows = [
        Result(bench, f"{what} p50", p50, "ms", limit_target if limit_at == "p50" else "",
               (p50 < limit_ms) if limit_ms is not None and limit_at == "p50" else None),
        Result(bench, f"{what} p99", p99, "ms", limit_target if limit_at == "p99" else "",
               (p99 < limit_ms) if limit_ms is not None and limit_at == "p99" else None),
        Result(bench, f"{what} max", max(ms), "ms"),
    ]
    if wall:
        rows.append(Result(bench, f"{what} rate", len(seconds) / wall, "req/s"))
    return rows


def table(results: list[Result]) -> str:
    header = ("benchmark", "metric", "value", "target", "")
    lines = [header] + [
        (r.bench, r.metric, f"{r.value:,.1f} {r.unit}" if r.unit != "x" else f"{r.value:.2f}", r.target, r.verdict)
        for r in results
    ]
    widths = [max(_width(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(_pad(cell, widths[i], right=(i == 2)) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    space = " " * (width - _width(text))
    return space + text if right else text + space
