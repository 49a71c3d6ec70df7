"""The soak run's report: windows, pass criteria, the markdown table and the plot.

Growth of memory and file descriptors is judged after warm-up: the first
window is the warm-up (the hub fills its caches, the proxy its route table,
the users their first cycles), and growth is the median of the last window's
samples over the median of the second window's, minus one. Medians, so that a
sample taken mid-spawn-storm does not decide alone. It needs at least three
windows; with fewer the row says n/a. p99 is stable when each operation's
last window is at most 1.2x its first.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from soak_users import Record

MAX_GROWTH = 0.05
MAX_P99_RATIO = 1.2
LABELS = {"hub_rss": "hub RSS (MiB)", "hub_fds": "hub fds", "proxy_rss": "proxy RSS (MiB)",
          "proxy_fds": "proxy fds", "running_servers": "running servers"}
#: Steps timed but not judged for p99: waiting for the idle culler is its timeout's work.
NOT_REQUESTS = {"culled"}
#: Errors quoted in the report.
FIRST_ERRORS = 5


@dataclass(frozen=True)
class Sample:
    """One look at the processes, every 10 s: seconds since the start, VmRSS (MiB), fds."""

    at: float
    hub_rss: float
    hub_fds: int
    proxy_rss: float
    proxy_fds: int
    running_servers: int


@dataclass(frozen=True)
class Criterion:
    name: str
    figure: str
    passed: bool | None  # None: not enough data to judge

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "**FAIL**", None: "n/a"}[self.passed]


class Report:
    """Everything measured in a run, cut into windows of ``window`` seconds."""

    def __init__(self, record: Record, samples: list[Sample], window: float,
                 seconds: float) -> None:
        self.record = record
        self.samples = samples
        self.window = window
        self.windows = max(1, round(seconds / window))

    def _window_of(self, at: float) -> int:
        return min(int(at // self.window), self.windows - 1)

    def operations(self) -> list[str]:
        seen: dict[str, None] = {}
        for _, operation, _ in self.record.steps:
            seen.setdefault(operation, None)
        return list(seen)

    def latencies(self, operation: str) -> list[list[float]]:
        """Per window, the operation's durations in seconds."""
        cut: list[list[float]] = [[] for _ in range(self.windows)]
        for at, name, seconds in self.record.steps:
            if name == operation:
                cut[self._window_of(at)].append(seconds)
        return cut

    @staticmethod
    def p50_p99(values: list[float]) -> tuple[float, float] | None:
        if len(values) < 2:
            return None
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        return cuts[49] * 1000, cuts[98] * 1000

    def growth(self, attribute: str) -> Criterion:
        label = LABELS[attribute]
        by_window: list[list[float]] = [[] for _ in range(self.windows)]
        for sample in self.samples:
            by_window[self._window_of(sample.at)].append(getattr(sample, attribute))
        if self.windows < 3 or not by_window[1] or not by_window[-1]:
            return Criterion(f"{label} growth after warm-up ≤ 5 %",
                             "needs 3 windows or more", None)
        base, last = statistics.median(by_window[1]), statistics.median(by_window[-1])
        change = last / base - 1 if base else 0.0
        unit = " MiB" if "rss" in attribute else ""
        return Criterion(f"{label} growth after warm-up ≤ 5 %",
                         f"{base:.1f}{unit} → {last:.1f}{unit} ({change:+.1%})",
                         change <= MAX_GROWTH)

    def p99_stable(self, operation: str) -> Criterion:
        cut = self.latencies(operation)
        first, last = self.p50_p99(cut[0]), self.p50_p99(cut[-1])
        name = f"{operation}: p99 last window ≤ 1.2x first"
        if self.windows < 2 or first is None or last is None:
            return Criterion(name, "needs 2 windows with requests", None)
        ratio = last[1] / first[1]
        return Criterion(name, f"{first[1]:.1f} → {last[1]:.1f} ms ({ratio:.2f}x)",
                         ratio <= MAX_P99_RATIO)

    def criteria(self) -> list[Criterion]:
        errors = len(self.record.errors)
        return [
            Criterion("zero errors", f"{errors} errors", errors == 0),
            *(self.growth(a) for a in ("hub_rss", "hub_fds", "proxy_rss", "proxy_fds")),
            *(self.p99_stable(op) for op in self.operations() if op not in NOT_REQUESTS),
        ]

    # -- output ------------------------------------------------------------------------

    def markdown(self, header: str, plot: Path) -> str:
        minutes = self.window / 60
        lines = [f"# Soak run\n\n{header}\n",
                 f"Cycles: {self.record.cycles}, of which {self.record.culled} left to the "
                 f"idle culler and culled. Windows of {minutes:g} min; the first is the "
                 f"warm-up. Plot: `{plot}`\n",
                 "## Latency per operation (ms, p50 / p99, requests)\n"]
        columns = [f"{i * minutes:.3g}-{(i + 1) * minutes:.3g} min"
                   for i in range(self.windows)]
        lines.append("| operation | " + " | ".join(columns) + " |")
        lines.append("|---" * (len(columns) + 1) + "|")
        for operation in self.operations():
            cells = []
            for values in self.latencies(operation):
                pair = self.p50_p99(values)
                cells.append("—" if pair is None else
                             f"{pair[0]:.1f} / {pair[1]:.1f} ({len(values)})")
            lines.append(f"| {operation} | " + " | ".join(cells) + " |")
        lines += ["", "## Processes (sampled every 10 s; median per window)\n",
                  "| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        for attribute, label in LABELS.items():
            cells = []
            for i in range(self.windows):
                values = [getattr(s, attribute) for s in self.samples
                          if self._window_of(s.at) == i]
                cells.append(f"{statistics.median(values):.1f}" if values else "—")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines += ["", "## Pass criteria\n", "| criterion | figure | verdict |",
                  "|---|---|---|"]
        lines += [f"| {c.name} | {c.figure} | {c.verdict} |" for c in self.criteria()]
        if self.record.errors:
            lines += ["", f"## Errors ({len(self.record.errors)}; the first {FIRST_ERRORS})",
                      ""]
            lines += [f"- at {at:.0f} s: {message}"
                      for at, message in self.record.errors[:FIRST_ERRORS]]
        return "\n".join(lines) + "\n"

    def plot(self, path: Path) -> None:
        """RSS, fds and per-window p99 over time, as a PNG."""
        import matplotlib
        matplotlib.use("Agg")  # no display: write files only
        import matplotlib.pyplot as plt

        minutes = [s.at / 60 for s in self.samples]
        figure, (rss, fds, p99) = plt.subplots(3, 1, figsize=(9, 10), sharex=True)
        rss.plot(minutes, [s.hub_rss for s in self.samples], label="hub")
        rss.plot(minutes, [s.proxy_rss for s in self.samples], label="proxy (kernel-proxy)")
        rss.set_ylabel("RSS (MiB)")
        fds.plot(minutes, [s.hub_fds for s in self.samples], label="hub")
        fds.plot(minutes, [s.proxy_fds for s in self.samples], label="proxy (kernel-proxy)")
        fds.plot(minutes, [s.running_servers for s in self.samples], label="running servers",
                 linestyle=":")
        fds.set_ylabel("open fds / servers")
        ends = [(i + 1) * self.window / 60 for i in range(self.windows)]
        for operation in self.operations():
            values = [self.p50_p99(v) for v in self.latencies(operation)]
            p99.step(ends, [v[1] if v else float("nan") for v in values], where="pre",
                     label=operation)
        p99.set_ylabel("p99 per window (ms)")
        p99.set_yscale("log")
        p99.set_xlabel("minutes")
        for axes in (rss, fds, p99):
            axes.legend(fontsize="small")
            axes.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)

    def summary(self) -> dict[str, object]:
        """The figures a test or a script reads (soak.json)."""
        return {"cycles": self.record.cycles, "culled": self.record.culled,
                "errors": len(self.record.errors),
                "first_errors": [m for _, m in self.record.errors[:FIRST_ERRORS]],
                "samples": len(self.samples), "windows": self.windows,
                "criteria": [{"name": c.name, "figure": c.figure, "passed": c.passed}
                             for c in self.criteria()]}
