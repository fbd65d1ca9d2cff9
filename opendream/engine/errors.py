"""Errors the engine raises to its callers (the worker, the CLI)."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: the message is meant for a human and is complete on its own."""


class EngineLoadError(EngineError):
    """The configured backend cannot be loaded (missing directory, incomplete download, a
    dependency that is not installed, an option the device does not support)."""


class GenerationError(EngineError):
    """A plan could not be executed (a reference that does not decode, a plan that does not fit
    the loaded backend)."""
