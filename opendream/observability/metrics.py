"""Prometheus text exposition (format 0.0.4) for /metrics, without a client library.

What comes from where:
- Request counts and queue depth come from a database snapshot (`RequestStore.counts_by_status`)
  the API takes when scraped, so every API replica reports the same fleet-wide numbers.
- Worker heartbeats come from the workers table (`RequestStore.live_workers`), also fleet-wide.
- Latency histograms are kept by each worker (`LatencyHistograms`) and published in its heartbeat
  info (`LatencyHistograms.to_info()` under `LATENCY_INFO_KEY`), so whichever process serves
  /metrics renders every live worker's histograms, labelled `worker`. Each series then comes from
  exactly one process: a restarted worker starts from zero, which Prometheus reads as a counter
  reset, and the embedded worker (inside the API process) is reported once, through its beat,
  like any other. The price is staleness of up to one heartbeat interval.

Histogram observation is thread-safe; the worker may observe from any thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

STATUSES: tuple[str, ...] = ("in_queue", "in_progress", "succeeded", "failed", "cancelled")

# seconds; spans a fast tiny-model run on CPU up to an hour-long queue on a busy fleet
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
    3600.0,
)  # fmt: skip


@dataclass(frozen=True)
class HistogramSeries:
    bucket_counts: tuple[int, ...]  # per bucket, not cumulative; len == len(buckets)
    overflow: int  # observations above the last bucket
    total: float
    count: int


@dataclass(frozen=True)
class HistogramSnapshot:
    name: str
    help: str
    buckets: tuple[float, ...]
    series: dict[str, HistogramSeries]  # by model id


class Histogram:
    """A histogram with one label, `model`."""

    def __init__(self, name: str, help: str, buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        if list(buckets) != sorted(set(buckets)) or not buckets:
            raise ValueError("histogram buckets must be strictly increasing and non-empty")
        self.name = name
        self.help = help
        self.buckets = tuple(float(b) for b in buckets)
        self._lock = threading.Lock()
        self._counts: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}

    def observe(self, model: str, seconds: float) -> None:
        if math.isnan(seconds) or math.isinf(seconds):
            return
        # clocks of different hosts can disagree by a little; a negative wait means "none"
        seconds = max(0.0, float(seconds))
        index = _bucket_index(self.buckets, seconds)
        with self._lock:
            counts = self._counts.setdefault(model, [0] * (len(self.buckets) + 1))
            counts[index] += 1
            self._sums[model] = self._sums.get(model, 0.0) + seconds

    def snapshot(self) -> HistogramSnapshot:
        with self._lock:
            series = {
                model: HistogramSeries(
                    bucket_counts=tuple(counts[:-1]),
                    overflow=counts[-1],
                    total=self._sums[model],
                    count=sum(counts),
                )
                for model, counts in self._counts.items()
            }
        return HistogramSnapshot(self.name, self.help, self.buckets, series)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._sums.clear()


def _bucket_index(buckets: tuple[float, ...], value: float) -> int:
    for i, bound in enumerate(buckets):
        if value <= bound:
            return i
    return len(buckets)


QUEUE_WAIT = "opendream_queue_wait_seconds"
INFERENCE = "opendream_inference_seconds"
END_TO_END = "opendream_end_to_end_seconds"
# the families /metrics always declares, in this order; names a heartbeat carries beyond these
# (a newer worker than this API) are ignored rather than trusted as metric names
HISTOGRAM_HELP: dict[str, str] = {
    QUEUE_WAIT: "Time from submit to a worker starting the request, per worker.",
    INFERENCE: "Time the engine spent generating a request, per worker.",
    END_TO_END: "Time from submit to the request finishing, per worker.",
}
LATENCY_INFO_KEY = "latency"  # where a worker's heartbeat info carries `to_info()`


class LatencyHistograms:
    """One worker's latency histograms: queue wait, inference and end to end, by model."""

    def __init__(self, buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self.queue_wait = Histogram(QUEUE_WAIT, HISTOGRAM_HELP[QUEUE_WAIT], buckets)
        self.inference = Histogram(INFERENCE, HISTOGRAM_HELP[INFERENCE], buckets)
        self.end_to_end = Histogram(END_TO_END, HISTOGRAM_HELP[END_TO_END], buckets)

    def snapshots(self) -> list[HistogramSnapshot]:
        return [h.snapshot() for h in (self.queue_wait, self.inference, self.end_to_end)]

    def to_info(self) -> dict[str, Any]:
        """A compact JSON form for a heartbeat: `{name: {"le": [bounds], "by_model": {model:
        {"n": [per-bucket counts, then the overflow, trailing zeros dropped], "sum": s}}}}`;
        histograms without observations are left out, so an idle worker's beat stays small."""
        out: dict[str, Any] = {}
        for snap in self.snapshots():
            if not snap.series:
                continue
            by_model: dict[str, Any] = {}
            for model, series in snap.series.items():
                counts = [*series.bucket_counts, series.overflow]
                while counts and counts[-1] == 0:
                    counts.pop()
                by_model[model] = {"n": counts, "sum": series.total}
            out[snap.name] = {"le": list(snap.buckets), "by_model": by_model}
        return out


def snapshots_from_info(data: Any) -> list[HistogramSnapshot]:
    """Reads `LatencyHistograms.to_info()` back from a heartbeat. Whatever does not have that
    shape (another version's worker, a hand-edited row) is skipped, never an error: /metrics must
    not fail because of one worker's beat."""
    if not isinstance(data, Mapping):
        return []
    out: list[HistogramSnapshot] = []
    for name, help in HISTOGRAM_HELP.items():
        entry = data.get(name)
        if not isinstance(entry, Mapping):
            continue
        buckets = _bounds(entry.get("le"))
        by_model = entry.get("by_model")
        if buckets is None or not isinstance(by_model, Mapping):
            continue
        series: dict[str, HistogramSeries] = {}
        for model, raw in by_model.items():
            parsed = _series(raw, len(buckets))
            if isinstance(model, str) and parsed is not None:
                series[model] = parsed
        if series:
            out.append(HistogramSnapshot(name, help, buckets, series))
    return out


def _bounds(raw: Any) -> tuple[float, ...] | None:
    if not isinstance(raw, list) or not raw or not all(_finite(b) for b in raw):
        return None
    bounds = tuple(float(b) for b in raw)
    return bounds if list(bounds) == sorted(set(bounds)) else None


def _series(raw: Any, n_buckets: int) -> HistogramSeries | None:
    if not isinstance(raw, Mapping):
        return None
    counts, total = raw.get("n"), raw.get("sum")
    if not isinstance(counts, list) or len(counts) > n_buckets + 1 or not _finite(total):
        return None
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
        return None
    counts = [*counts, *[0] * (n_buckets + 1 - len(counts))]
    return HistogramSeries(tuple(counts[:-1]), counts[-1], float(total), sum(counts))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def render_metrics(
    counts_by_status: Mapping[tuple[str, str], int],
    workers: Iterable[Mapping[str, Any]],
    histograms: Iterable[HistogramSnapshot] = (),
    *,
    models: Iterable[str] = (),
    now: float | None = None,
) -> str:
    """The /metrics body.

    counts_by_status: {(model_id, status): n} from the database.
    workers: rows from `live_workers`: `id` (or `worker_id`), `last_seen` (datetime or unix
      seconds) and optionally `info` (a dict) whose `busy` (a request id or None), `models` and
      `latency` are read; those keys are also read from the top level of the row.
    Latency histograms come from the workers: each live worker's heartbeat carries its own
      (`LatencyHistograms.to_info()` under `latency`), rendered with a `worker` label, so in a
      fleet the API that serves /metrics shows what every worker observed, as of each worker's
      last heartbeat; a worker whose beat is no longer recent drops out with its series. The
      process serving /metrics renders no histogram state of its own: in the embedded mode its
      worker is already in `workers`, and reading its local histograms too would count it twice.
    histograms: extra snapshots rendered without a `worker` label (none from the API route).
    models: model ids that always get a queue depth and status series, 0 when absent, so a
      dashboard sees a flat line instead of a gap.
    now: unix time for heartbeat ages; default the current time.
    """
    now = time.time() if now is None else now
    out: list[str] = []
    known_models = sorted({*models, *(model for model, _ in counts_by_status)})

    _header(out, "opendream_queue_depth", "gauge", "Requests waiting in the queue, per model.")
    for model in known_models:
        depth = counts_by_status.get((model, "in_queue"), 0)
        out.append(_sample("opendream_queue_depth", {"model": model}, depth))

    _header(
        out,
        "opendream_requests",
        "gauge",
        "Requests in the request table by model and status (database snapshot).",
    )
    statuses = sorted({*STATUSES, *(status for _, status in counts_by_status)})
    for model in known_models:
        for status in statuses:
            n = counts_by_status.get((model, status), 0)
            out.append(_sample("opendream_requests", {"model": model, "status": status}, n))

    rows = _worker_rows(workers)
    _render_workers(out, rows, now)

    # family name -> [(extra labels, snapshot)]; every known family is declared even when empty
    families: dict[str, list[tuple[dict[str, str], HistogramSnapshot]]] = {
        name: [] for name in HISTOGRAM_HELP
    }
    for worker_id, _, merged in rows:
        for snap in snapshots_from_info(merged.get(LATENCY_INFO_KEY)):
            families[snap.name].append(({"worker": worker_id}, snap))
    for snap in histograms:
        families.setdefault(snap.name, []).append(({}, snap))
    for name, entries in families.items():
        help = HISTOGRAM_HELP.get(name) or (entries[0][1].help if entries else name)
        _header(out, name, "histogram", help)
        for labels, snap in entries:
            _render_histogram_series(out, snap, labels)
    return "\n".join(out) + "\n"


def _worker_rows(workers: Iterable[Mapping[str, Any]]) -> list[tuple[str, float, dict[str, Any]]]:
    """(worker id, last seen as unix time, info merged with the row), sorted by id."""
    rows: list[tuple[str, float, dict[str, Any]]] = []
    for row in workers:
        worker_id = row.get("id", row.get("worker_id"))
        last_seen = _unix(row.get("last_seen"))
        if worker_id is None or last_seen is None:
            continue
        info = row.get("info") if isinstance(row.get("info"), Mapping) else {}
        rows.append((str(worker_id), last_seen, {**info, **row}))
    rows.sort(key=lambda r: r[0])
    return rows


def _render_workers(
    out: list[str], rows: list[tuple[str, float, dict[str, Any]]], now: float
) -> None:
    _header(out, "opendream_workers", "gauge", "Workers with a recent heartbeat.")
    out.append(_sample("opendream_workers", {}, len(rows)))
    _header(
        out,
        "opendream_worker_last_seen_timestamp_seconds",
        "gauge",
        "Unix time of each worker's last heartbeat.",
    )
    for worker_id, last_seen, _ in rows:
        out.append(
            _sample(
                "opendream_worker_last_seen_timestamp_seconds", {"worker": worker_id}, last_seen
            )
        )
    _header(
        out,
        "opendream_worker_heartbeat_age_seconds",
        "gauge",
        "Seconds since each worker's last heartbeat, as seen by this process.",
    )
    for worker_id, last_seen, _ in rows:
        age = max(0.0, now - last_seen)
        out.append(_sample("opendream_worker_heartbeat_age_seconds", {"worker": worker_id}, age))
    _header(out, "opendream_worker_busy", "gauge", "1 while the worker is running a request.")
    for worker_id, _, merged in rows:
        busy = 1 if merged.get("busy") else 0
        out.append(_sample("opendream_worker_busy", {"worker": worker_id}, busy))


def _render_histogram_series(
    out: list[str], snap: HistogramSnapshot, extra: Mapping[str, str]
) -> None:
    for model in sorted(snap.series):
        series = snap.series[model]
        base = {"model": model, **extra}
        cumulative = 0
        for bound, n in zip(snap.buckets, series.bucket_counts, strict=True):
            cumulative += n
            out.append(
                _sample(f"{snap.name}_bucket", {**base, "le": _format_value(bound)}, cumulative)
            )
        out.append(_sample(f"{snap.name}_bucket", {**base, "le": "+Inf"}, series.count))
        out.append(_sample(f"{snap.name}_sum", base, series.total))
        out.append(_sample(f"{snap.name}_count", base, series.count))


def _header(out: list[str], name: str, kind: str, help: str) -> None:
    out.append(f"# HELP {name} {_escape_help(help)}")
    out.append(f"# TYPE {name} {kind}")


def _sample(name: str, labels: Mapping[str, str], value: float) -> str:
    if labels:
        body = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
        return f"{name}{{{body}}} {_format_value(value)}"
    return f"{name} {_format_value(value)}"


def _format_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _escape_label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _unix(value: Any) -> float | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            # the request table stores UTC; a naive value from a driver means UTC too
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
