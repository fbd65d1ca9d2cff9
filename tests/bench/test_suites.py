from __future__ import annotations

import pytest

from bench.cli import build_parser, main
from bench.suites import GROUPS, SUITES, resolve


def test_groups_expand_in_order_without_duplicates() -> None:
    names = [s.name for s in resolve(["encoding", "cpu"])]
    assert names[0] == "encoding" and names.count("encoding") == 1
    assert set(names) == {"encoding", *GROUPS["cpu"]}


def test_every_suite_module_has_a_runner() -> None:
    for suite in SUITES.values():
        assert callable(suite.runner())


def test_unknown_suite_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nonesuch", "--out", "/nonexistent"]) == 2
    assert "unknown suite 'nonesuch'" in capsys.readouterr().err


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["gpu", "--quick", "--gpu-models", "tiny"])
    assert args.quick and args.gpu_models == "tiny" and args.device is None
