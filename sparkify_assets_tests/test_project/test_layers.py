"""The layers of docs/architecture.md, enforced: a module imports only from its own layer or the ones below.

Read from the source (every import statement, also those inside functions and under TYPE_CHECKING), so a lazy
import cannot hide an upward dependency. The package's `__init__` is the one exception: it hands Dagster the lazy
`defs` from the top layer, which is its job.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Lowest first; a module belongs to the first layer with a prefix that matches its dotted name.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("sparkify_assets.tables", "sparkify_assets.settings", "sparkify_assets.dagster_internals",
                    "sparkify_assets.sample_data")),
    ("sql", ("sparkify_assets.sql", "sparkify_assets.day_window")),
    ("resources", ("sparkify_assets.resources", "sparkify_assets.retries", "sparkify_assets.pools")),
    ("pipeline helpers", ("sparkify_assets.partitions", "sparkify_assets.reporting", "sparkify_assets.lineage",
                          "sparkify_assets.loaded_versions", "sparkify_assets.key_quarantine",
                          "sparkify_assets.freshness", "sparkify_assets.executor")),
    ("assets and checks", ("sparkify_assets.assets", "sparkify_assets.checks", "sparkify_assets.day_complete")),
    ("automation and alerts", ("sparkify_assets.automation", "sparkify_assets.alerts")),
    ("definitions", ("sparkify_assets.definitions",)),
    ("entry points", ("sparkify_assets.run", "sparkify_assets.redshift_preflight", "sparkify_service")),
)
EXEMPT = {"sparkify_assets"}  # the package's __init__: Dagster's lazy entry point, handed up from definitions


def layer_of(module: str) -> int:
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS here and to docs/architecture.md")


def product_modules() -> dict[str, Path]:
    found = {}
    for package in ("sparkify_assets", "sparkify_service"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(path: Path, modules: dict[str, Path]) -> set[str]:
    """The product modules a file imports (`from pkg import module` names the module, not the package)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
            names.update(subs or {node.module})
    return {n for n in names if n in modules}


MODULES = product_modules()


@pytest.mark.parametrize("module", sorted(set(MODULES) - EXEMPT))
def test_a_module_imports_only_from_its_layer_or_below(module: str) -> None:
    own = layer_of(module)
    upward = {m: LAYERS[layer_of(m)][0] for m in imported(MODULES[module], MODULES)
              if m not in EXEMPT and layer_of(m) > own}
    assert upward == {}, f"{module} (layer {LAYERS[own][0]!r}) imports from above: {upward}"


def test_no_import_cycle() -> None:
    graph = {m: imported(p, MODULES) - EXEMPT - {m} for m, p in MODULES.items() if m not in EXEMPT}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path[path.index(n):], n]))
            if n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
