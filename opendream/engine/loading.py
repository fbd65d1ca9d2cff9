"""Loading a diffusers pipeline from a local directory, with one clear message when it can't be.

A half-downloaded checkpoint is the common failure; `from_pretrained` then fails deep inside with
a traceback that names neither the directory nor the missing file. `check_model_dir` looks first
(model_index.json, each component folder, its config and weights, the shards an index names) and
says exactly what is missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opendream.engine.errors import EngineLoadError

# Files that make a component folder loadable, by what kind of component it is.
_CONFIG_FILES = (
    "config.json",
    "scheduler_config.json",
    "tokenizer_config.json",
    "tokenizer.json",
    "processor_config.json",
    "preprocessor_config.json",
)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
# Libraries whose components carry weights (a tokenizer or scheduler folder has none).
_WEIGHTLESS_CLASS_HINTS = ("Scheduler", "Tokenizer", "Processor", "ImageProcessor")


def read_model_index(model_dir: Path) -> dict[str, Any]:
    if not model_dir.exists():
        raise EngineLoadError(f"model directory {model_dir} does not exist")
    if not model_dir.is_dir():
        raise EngineLoadError(f"model directory {model_dir} is not a directory")
    index_path = model_dir / "model_index.json"
    if not index_path.is_file():
        raise EngineLoadError(
            f"model directory {model_dir} has no model_index.json; point it at a diffusers "
            f"pipeline folder (the one holding model_index.json), or build a tiny one with "
            f"`opendream models make-tiny {model_dir}`"
        )
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError) as e:
        raise EngineLoadError(f"{index_path} is not valid JSON: {e}") from None
    if not isinstance(index, dict):
        raise EngineLoadError(f"{index_path} is not a JSON object")
    return index


def components(index: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """name -> (library, class) for every component the index declares (None entries are
    optional components the checkpoint leaves out)."""
    out: dict[str, tuple[str, str]] = {}
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or len(value) != 2:
            continue
        library, cls = value
        if library is None or cls is None:
            continue
        out[name] = (str(library), str(cls))
    return out


def check_model_dir(model_dir: Path, expected_pipelines: tuple[str, ...]) -> dict[str, Any]:
    """Raise EngineLoadError naming everything missing; return the parsed model_index.json."""
    index = read_model_index(model_dir)
    found = index.get("_class_name")
    if expected_pipelines and found not in expected_pipelines:
        raise EngineLoadError(
            f"{model_dir} holds a {found or 'unknown'} pipeline, but this backend loads "
            f"{' or '.join(expected_pipelines)}; check --backend and --model-dir"
        )
    problems: list[str] = []
    for name, (_library, cls) in components(index).items():
        folder = model_dir / name
        if not folder.is_dir():
            problems.append(f"{name}/ (the {cls} folder) is missing")
            continue
        files = [p.name for p in folder.iterdir() if p.is_file()]
        if not any(f in files for f in _CONFIG_FILES):
            problems.append(f"{name}/ has no config file ({' or '.join(_CONFIG_FILES[:3])})")
        if any(hint in cls for hint in _WEIGHTLESS_CLASS_HINTS):
            continue
        problems.extend(_weight_problems(folder, name, files))
    if problems:
        raise EngineLoadError(f"model directory {model_dir} is incomplete: " + "; ".join(problems))
    return index


def _weight_problems(folder: Path, name: str, files: list[str]) -> list[str]:
    indexes = [f for f in files if f.endswith(".index.json")]
    if indexes:
        problems: list[str] = []
        for index_name in indexes:
            try:
                weight_map = json.loads((folder / index_name).read_text()).get("weight_map", {})
            except (OSError, ValueError, AttributeError):
                problems.append(f"{name}/{index_name} is not valid JSON")
                continue
            missing = sorted({s for s in weight_map.values() if not (folder / s).is_file()})
            if missing:
                shown = ", ".join(missing[:5]) + (
                    f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""
                )
                problems.append(f"{name}/ is missing weight shards {shown}")
        return problems
    if not any(f.endswith(_WEIGHT_SUFFIXES) for f in files):
        return [f"{name}/ has no weights (*.safetensors)"]
    return []


def load_pipeline(
    pipeline_cls: type,
    model_dir: Path,
    expected_pipelines: tuple[str, ...],
    torch_dtype: Any,
    **components: Any,
) -> Any:
    """`pipeline_cls.from_pretrained(model_dir)`, strictly offline, errors as EngineLoadError.
    `components` are already-loaded modules to reuse instead of loading their folders again."""
    check_model_dir(model_dir, expected_pipelines)
    try:
        pipe = pipeline_cls.from_pretrained(
            str(model_dir), dtype=torch_dtype, local_files_only=True, **components
        )
    except EngineLoadError:
        raise
    except Exception as e:  # from_pretrained raises anything from OSError to KeyError
        raise EngineLoadError(
            f"could not load {pipeline_cls.__name__} from {model_dir}: {type(e).__name__}: {e}"
        ) from None
    pipe.set_progress_bar_config(disable=True)
    return pipe
