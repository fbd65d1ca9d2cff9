"""What a suite measured, and how it is written: JSON, a markdown table and PNG plots.

Every figure is a measured value next to a baseline measured in the same run, so a figure reads
as a ratio that does not depend on how fast the machine is. Targets from the issue are shown in
a pass/fail column; nothing here asserts them.
"""

from __future__ import annotations

import json
import math
import operator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.machine import describe_machine

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}


@dataclass(frozen=True)
class Target:
    """A goal from the issue: `on` names the quantity compared (the ratio to the baseline, the
    headline value, or the p99), `text` is how the table shows it."""

    on: Literal["ratio", "value", "p99"]
    op: Literal["<=", ">=", "<", ">"]
    threshold: float
    text: str


@dataclass
class Figure:
    name: str
    unit: str
    value: float  # the headline: p50 for latencies, a rate for throughputs
    baseline_name: str
    baseline_value: float
    p99: float | None = None
    baseline_p99: float | None = None
    n: int | None = None
    target: Target | None = None
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.baseline_value or math.isnan(self.baseline_value):
            return None
        return self.value / self.baseline_value

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        quantity = {"ratio": self.ratio, "value": self.value, "p99": self.p99}[self.target.on]
        if quantity is None:
            return None
        return _OPS[self.target.op](quantity, self.target.threshold)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = self.ratio
        d["passed"] = self.passed
        return d


@dataclass
class Series:
    """A curve (x -> y), plotted as a line: e.g. validation cost against pixel count."""

    name: str
    x_label: str
    y_label: str
    points: list[tuple[float, float]]


@dataclass
class SuiteResult:
    suite: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    status: Literal["ok", "skipped", "error"] = "ok"
    error: str | None = None
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "title": self.title,
            "status": self.status,
            "error": self.error,
            "elapsed_s": round(self.elapsed_s, 3),
            "params": self.params,
            "notes": self.notes,
            "figures": [f.as_dict() for f in self.figures],
            "series": [asdict(s) for s in self.series],
        }


# writing ---------------------------------------------------------------------------------------


def write_suite(
    result: SuiteResult, out_dir: Path, machine: dict[str, Any] | None = None
) -> list[Path]:
    """`<suite>.json`, `<suite>.md` and (when matplotlib is installed) `<suite>.png`; then the
    index `README.md` of the directory is rewritten from every suite JSON found there."""
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = machine if machine is not None else describe_machine()
    doc = {"machine": machine, **result.as_dict()}
    paths = [out_dir / f"{result.suite}.json", out_dir / f"{result.suite}.md"]
    paths[0].write_text(json.dumps(doc, indent=2, default=str) + "\n")
    paths[1].write_text(suite_markdown(doc))
    png = plot_suite(result, out_dir / f"{result.suite}.png")
    if png is not None:
        paths.append(png)
    paths.append(write_index(out_dir))
    return paths


def suite_markdown(doc: dict[str, Any], heading: str = "##") -> str:
    lines = [f"{heading} {doc['suite']}: {doc['title']}", ""]
    if doc["status"] != "ok":
        lines += [f"**{doc['status']}**: {doc.get('error') or ''}", ""]
    params = ", ".join(f"{k}={v}" for k, v in doc.get("params", {}).items())
    run = doc.get("machine", {})
    when = f" Run {run.get('date')} at commit {run.get('git_commit')}." if run.get("date") else ""
    if params:
        lines += [f"Parameters: {params}. Took {doc.get('elapsed_s', 0):.1f} s.{when}", ""]
    if doc["figures"]:
        lines += [
            "| figure | measured | p99 | baseline | baseline value | ratio | target | result "
            "| notes |",
            "| --- | ---: | ---: | --- | ---: | ---: | --- | --- | --- |",
        ]
        for f in doc["figures"]:
            unit = f["unit"]
            ratio = "—" if f["ratio"] is None else f"{f['ratio']:.3g}x"
            target = f["target"]["text"] if f.get("target") else "—"
            result = {True: "pass", False: "FAIL", None: "—"}[f["passed"]]
            cells = [
                f["name"],
                f"{_fmt(f['value'])} {unit}",
                _fmt(f.get("p99")),
                f["baseline_name"],
                f"{_fmt(f['baseline_value'])} {unit}",
                ratio,
                target,
                result,
                f.get("notes") or "",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    for s in doc.get("series", []):
        pts = ", ".join(f"{_fmt(x)} -> {_fmt(y)}" for x, y in s["points"])
        lines += [f"Curve *{s['name']}* ({s['x_label']} -> {s['y_label']}): {pts}", ""]
    for note in doc.get("notes", []):
        lines.append(f"- {note}")
    if doc.get("notes"):
        lines.append("")
    return "\n".join(lines)


def write_index(out_dir: Path) -> Path:
    """`README.md` of a results directory: the machine of each run and every suite's table."""
    docs = []
    for path in sorted(out_dir.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except ValueError:
            continue
        if isinstance(doc, dict) and "suite" in doc and "figures" in doc:
            docs.append(doc)
    lines = [
        "# opendream benchmark results",
        "",
        "Written by `python -m bench`; each figure is a ratio to a baseline measured in the same "
        "run.",
        "See `bench/README.md` for what each figure means.",
        "",
    ]
    machines: dict[str, dict[str, Any]] = {}
    for doc in docs:
        machine = {k: v for k, v in doc.get("machine", {}).items() if k not in _PER_RUN}
        machines.setdefault(json.dumps(machine, sort_keys=True), machine)
    for machine in machines.values():
        lines += ["Machine: " + machine_line(machine), ""]
    for doc in docs:
        lines.append(suite_markdown(doc, heading="##"))
    path = out_dir / "README.md"
    path.write_text("\n".join(lines))
    return path


# Facts of one run rather than of the machine: shown with each suite, not in the machine line.
_PER_RUN = ("git_commit", "date")


def machine_line(machine: dict[str, Any]) -> str:
    keys = ("cpu", "cpu_model_id", "cores", "memory_gb", "gpu", "os", "python", "torch")
    keys += ("diffusers", "pillow", "uvicorn", "git_commit", "date")
    return "; ".join(f"{k} {machine[k]}" for k in keys if machine.get(k) is not None)


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    if x == 0 or 0.01 <= abs(x) < 100_000:
        return f"{x:.4g}" if abs(x) < 1000 else f"{x:,.0f}"
    return f"{x:.3g}"


# plots -----------------------------------------------------------------------------------------


def plot_suite(result: SuiteResult, path: Path) -> Path | None:
    """Grouped bars (measured next to its baseline, per unit) and one line plot per curve."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    units = sorted({f.unit for f in result.figures})
    panels = len(units) + (1 if result.series else 0)
    if panels == 0:
        return None
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.5), squeeze=False)
    for ax, unit in zip(axes[0], units, strict=False):
        figures = [f for f in result.figures if f.unit == unit]
        xs = range(len(figures))
        width = 0.4
        ax.bar([x - width / 2 for x in xs], [f.value for f in figures], width, label="measured")
        ax.bar(
            [x + width / 2 for x in xs],
            [f.baseline_value for f in figures],
            width,
            label="baseline",
        )
        for x, f in zip(xs, figures, strict=True):
            if f.ratio is not None:
                ax.annotate(
                    f"{f.ratio:.2f}x",
                    (x - width / 2, f.value),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
        ax.set_xticks(list(xs))
        ax.set_xticklabels([f.name for f in figures], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(unit)
        values = [v for f in figures for v in (f.value, f.baseline_value) if v and v > 0]
        if values and max(values) / min(values) > 50:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    if result.series:
        ax = axes[0][-1]
        for s in result.series:
            ax.plot([p[0] for p in s.points], [p[1] for p in s.points], marker="o", label=s.name)
        ax.set_xlabel(result.series[0].x_label)
        ax.set_ylabel(result.series[0].y_label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.suptitle(f"{result.suite}: {result.title}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
