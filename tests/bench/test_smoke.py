"""The harness end to end in --quick mode, as CI runs it: each run bounded, results checked for
shape (never for speed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _bench(out: Path, *args: str, timeout: float = 240) -> dict[str, dict]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--quick", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


def _check_written(out: Path, doc: dict) -> None:
    name = doc["suite"]
    assert doc["status"] == "ok", doc.get("error")
    assert doc["figures"], f"{name} measured nothing"
    assert doc["machine"]["cores"] and doc["machine"]["python"]
    md = (out / f"{name}.md").read_text()
    assert f"## {name}:" in md and "| figure | measured |" in md
    assert f"## {name}:" in (out / "README.md").read_text()


def test_encoding_and_inputs(tmp_path: Path) -> None:
    docs = _bench(tmp_path, "encoding", "inputs")
    assert set(docs) == {"encoding", "inputs"}
    for doc in docs.values():
        _check_written(tmp_path, doc)
        assert all(f["ratio"] is not None and f["ratio"] > 0 for f in doc["figures"])
    names = {f["name"] for f in docs["encoding"]["figures"]}
    assert {"png 256x256", "jpeg 512x512", "webp 512x512"} <= names
    # The validation curve is reported with its flatness target (judged, never asserted).
    curve = [f for f in docs["inputs"]["figures"] if f["name"].startswith("validate png")]
    assert curve and all(f["target"] and f["passed"] is not None for f in curve)
    assert any(f["name"].endswith("fetched + validated") for f in docs["inputs"]["figures"])


def test_generation_suites_run_tiny_on_cpu(tmp_path: Path, tiny_klein_dir: Path) -> None:
    """No GPU here: suite 6 runs the tiny architecture on the CPU (vanilla call, engine with
    options, KV pipeline, FLOP count), and suite 7 has a real `opendream serve` with the tiny
    model make a chained series, against the same pipeline calls made directly. One run for
    both, so torch is imported once."""
    # The session's tiny model (built once for the whole test run) serves as the bench's cache.
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "tiny-flux2-klein").symlink_to(tiny_klein_dir, target_is_directory=True)
    out = tmp_path / "out"
    docs = _bench(out, "gpu", "sequential", "--device", "cpu", "--cache-dir", str(cache))
    gpu = docs["gpu"]
    _check_written(out, gpu)
    names = [f["name"] for f in gpu["figures"]]
    for expected in (
        "tiny 256x256 t2i: vanilla diffusers",
        "tiny 256x256 t2i: engine (defaults)",
        "tiny 256x256 4 refs: engine + KV-cached klein pipeline",
        "tiny 256x256 4 refs: FLOP floor",
    ):
        assert expected in names
    floor = next(f for f in gpu["figures"] if f["name"] == "tiny 256x256 t2i: FLOP floor")
    assert floor["value"] > 0 and floor["ratio"] is not None

    sequential = docs["sequential"]
    _check_written(out, sequential)
    (figure,) = sequential["figures"]
    assert figure["ratio"] is not None and figure["ratio"] > 0
    assert figure["notes"].startswith("2 images produced")
    for doc in (gpu, sequential):
        assert any("GPU FIGURES STILL OWED" in n for n in doc["notes"])
