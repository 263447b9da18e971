"""Sparkify's song-play warehouse as Dagster software-defined assets.

`defs` (Dagster's lazy entry point, definitions.py) is imported on first use, not here: `import
sparkify_assets.tables` or `python -m sparkify_assets.sample_data` must not read the environment or load what
the definitions need. Dagster's loader finds it all the same: `inspect.getmembers` asks `__dir__` and
`getattr`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from sparkify_assets.definitions import defs

        return defs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
