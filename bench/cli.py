"""`python -m bench <suite>...` (and, wired by the service's CLI, `opendream bench ...`)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.context import DEFAULT_CACHE, BenchContext
from bench.report import SuiteResult, write_suite
from bench.suites import GROUPS, SUITES, resolve

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def build_parser() -> argparse.ArgumentParser:
    suites = "\n".join(f"  {s.name:<11} {s.title}" for s in SUITES.values())
    groups = "\n".join(f"  {g:<11} {' '.join(m)}" for g, m in GROUPS.items())
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure opendream against baselines measured in the same run.",
        epilog=f"suites:\n{suites}\ngroups:\n{groups}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("suites", nargs="+", metavar="suite", help="suite or group names")
    p.add_argument(
        "--quick", action="store_true", help="few samples at small sizes (seconds; CI smoke)"
    )
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"results directory (default {DEFAULT_OUT})"
    )
    p.add_argument("--device", default=None, help="cpu or cuda[:N] (default: cuda when available)")
    p.add_argument(
        "--tiny",
        action="store_true",
        help="tiny pipelines instead of the real architecture sizes (always on for cpu)",
    )
    p.add_argument(
        "--model-dir", type=Path, default=None, help="real weights for the service suites"
    )
    p.add_argument(
        "--postgres-url",
        default=None,
        help="a PostgreSQL server the dispatch suite may create a throwaway database on "
        "(default: OPENDREAM_TEST_POSTGRES_URL, else postgres@127.0.0.1:5432)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch/OpenMP threads for this process and the servers it starts "
        "(default: 1 with --quick, the machine's default otherwise)",
    )
    p.add_argument(
        "--gpu-models",
        default=None,
        help="gpu suite: comma-separated 4B,9B,tiny (default 4B,9B on CUDA, tiny otherwise)",
    )
    p.add_argument(
        "--gpu-sizes",
        default=None,
        help="gpu suite: comma-separated square sizes (default 1024,2048 on CUDA)",
    )
    p.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help="where tiny models are built once"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        suites = resolve(args.suites)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.postgres_url:
        os.environ["OPENDREAM_TEST_POSTGRES_URL"] = args.postgres_url
    threads = args.threads if args.threads is not None else (1 if args.quick else None)
    if threads is not None:
        # Before torch is imported here, and inherited by every server started: both sides of
        # a comparison get the same threads. One thread keeps a busy CI machine's noise down.
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(threads)
        if "torch" in sys.modules:  # called in-process after torch was imported
            sys.modules["torch"].set_num_threads(threads)
    device = args.device or _default_device()
    work_dir = Path(tempfile.mkdtemp(prefix="opendream-bench-"))
    ctx = BenchContext(
        quick=args.quick,
        out_dir=args.out,
        work_dir=work_dir,
        device=device,
        tiny=args.tiny or not device.startswith("cuda"),
        model_dir=args.model_dir,
        cache_dir=args.cache_dir,
        threads=threads,
        gpu_models=args.gpu_models.split(",") if args.gpu_models else None,
        gpu_sizes=[int(x) for x in args.gpu_sizes.split(",")] if args.gpu_sizes else None,
    )
    failed = 0
    try:
        for suite in suites:
            result = run_suite(suite.name, ctx)
            for path in write_suite(result, args.out):
                ctx.log(f"wrote {path}")
            failed += result.status == "error"
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 1 if failed else 0


def run_suite(name: str, ctx: BenchContext) -> SuiteResult:
    suite = SUITES[name]
    ctx.log(f"{name}: {suite.title}{' (quick)' if ctx.quick else ''}")
    start = time.perf_counter()
    try:
        result = suite.runner()(ctx)
    except Exception as exc:
        ctx.log(f"{name} failed: {exc!r}")
        result = SuiteResult(
            suite=name,
            title=suite.title,
            status="error",
            error=f"{exc!r}\n{traceback.format_exc()}",
        )
    result.elapsed_s = time.perf_counter() - start
    result.params.setdefault("quick", ctx.quick)
    result.params.setdefault("device", ctx.device)
    result.params.setdefault("threads", ctx.threads or "default")
    ctx.log(f"{name}: {result.status} in {result.elapsed_s:.1f} s")
    return result


def _default_device() -> str:
    # Without an NVIDIA driver there is no CUDA: decided without importing torch (seconds).
    if shutil.which("nvidia-smi") is None:
        return "cpu"
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"
