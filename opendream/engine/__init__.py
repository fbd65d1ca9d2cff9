"""Generation: the planner (Seedream semantics) and the diffusers backends.

Importing this package does not import torch; `Engine` does on first use.
"""

from opendream.engine.capabilities import BackendCapabilities
from opendream.engine.config import EngineConfig
from opendream.engine.engine import Engine
from opendream.engine.errors import EngineError, EngineLoadError, GenerationError
from opendream.engine.types import (
    GenerationRequest,
    GenerationResult,
    ImagePlan,
    Plan,
    Progress,
    ReferenceImage,
    RefSource,
    SizeRequest,
)

__all__ = [
    "BackendCapabilities",
    "Engine",
    "EngineConfig",
    "EngineError",
    "EngineLoadError",
    "GenerationError",
    "GenerationRequest",
    "GenerationResult",
    "ImagePlan",
    "Plan",
    "Progress",
    "RefSource",
    "ReferenceImage",
    "SizeRequest",
]
