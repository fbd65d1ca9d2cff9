"""The planner: Seedream semantics (count, per-image prompts, references, sizes, seeds) as
pure Python, no torch. `make_plan(request, caps)` is the entry point."""

from opendream.engine.planner.plan import make_plan
from opendream.engine.planner.rewrite import PromptRewriter, Rewrite

__all__ = ["PromptRewriter", "Rewrite", "make_plan"]
