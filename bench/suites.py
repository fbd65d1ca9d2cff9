"""The benchmark suites by name, and the groups the command line accepts."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from bench.context import BenchContext
from bench.report import SuiteResult


@dataclass(frozen=True)
class Suite:
    name: str
    module: str  # bench.<module> with `run(ctx) -> SuiteResult`
    title: str

    def runner(self) -> Callable[[BenchContext], SuiteResult]:
        return importlib.import_module(f"bench.{self.module}").run


SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        Suite(
            "overhead", "overhead", "service overhead: end to end vs the pipeline called directly"
        ),
        Suite(
            "dispatch", "dispatch", "dispatch latency: submit -> in_progress with an idle worker"
        ),
        Suite("api", "api_capacity", "API capacity: 64 concurrent clients vs a bare ASGI endpoint"),
        Suite("inputs", "inputs", "inputs: fetching and validating references"),
        Suite("encoding", "encoding", "output encoding: png / jpeg / webp"),
        Suite("gpu", "gpu", "generation speed: vanilla pipeline vs opendream's engine"),
        Suite("sequential", "sequential", "a sequential request of 4 images through the service"),
    )
}

GROUPS: dict[str, tuple[str, ...]] = {
    "cpu": ("overhead", "dispatch", "api", "inputs", "encoding"),
    "gpu-suites": ("gpu", "sequential"),
    "all": tuple(SUITES),
}


def resolve(names: list[str]) -> list[Suite]:
    """Suite and group names -> suites, in the order given, each once."""
    chosen: list[str] = []
    for name in names:
        if name in GROUPS:
            members = GROUPS[name]
        elif name in SUITES:
            members = (name,)
        else:
            known = ", ".join([*SUITES, *GROUPS])
            raise ValueError(f"unknown suite {name!r}; choose from {known}")
        chosen += [m for m in members if m not in chosen]
    return [SUITES[n] for n in chosen]
