"""Dagster's private names stay behind one door (sparkify_assets/dagster_internals.py), and a Dagster upgrade that
moves one fails here, naming the symbol and the path it was expected at, before anything else breaks.

The table of names and paths is read from the adapter's source, not imported: when an upgrade moves a name, the
adapter itself no longer imports, and each name is still checked (and reported) on its own."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = ("sparkify_assets", "sparkify_service")
ADAPTER = ROOT / "sparkify_assets" / "dagster_internals.py"
ADAPTER_TREE = ast.parse(ADAPTER.read_text())
UPDATE = "find where it moved and update sparkify_assets/dagster_internals.py"


def _constant(name: str) -> object:
    """The literal value the adapter assigns to `name`."""
    for node in ADAPTER_TREE.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == name and node.value is not None:
            return ast.literal_eval(node.value)
    raise AssertionError(f"sparkify_assets/dagster_internals.py assigns no {name}")


PRIVATE_PATHS: dict[str, str] = _constant("PRIVATE_PATHS")  # type: ignore[assignment]


@pytest.mark.parametrize(("symbol", "path"), sorted(PRIVATE_PATHS.items()), ids=sorted(PRIVATE_PATHS))
def test_each_private_symbol_is_where_the_adapter_expects_it(symbol: str, path: str) -> None:
    try:
        module = importlib.import_module(path)
    except ImportError as exc:
        pytest.fail(f"{symbol}: its module {path} no longer imports ({exc}); {UPDATE}")
    if not hasattr(module, symbol):
        pytest.fail(f"{symbol} is no longer in {path}; {UPDATE}")


def test_the_daemon_module_still_runs_as_a_module() -> None:
    name = _constant("DAEMON_MODULE")
    assert importlib.util.find_spec(f"{name}.__main__") is not None, (
        f"DAEMON_MODULE: {name}.__main__ is gone, so `python -m {name} run` no longer starts the daemon; "
        "see dagster's entry_points.txt for where `dagster-daemon` points now")


def test_the_adapter_imports_exactly_what_its_table_lists() -> None:
    """A name imported without its row (or from another path than its row says) would escape the check above."""
    imported = {a.asname or a.name: node.module for node in ADAPTER_TREE.body if isinstance(node, ast.ImportFrom)
                and node.module != "__future__" for a in node.names}
    assert imported == PRIVATE_PATHS
    from sparkify_assets import dagster_internals

    assert set(dagster_internals.__all__) == {*PRIVATE_PATHS, "DAEMON_MODULE", "PRIVATE_PATHS"}


def _private_uses(source: str) -> list[str]:
    """Every line mentioning a private Dagster module, and every `from dagster import _name`."""
    found = [line.strip() for line in source.splitlines() if "dagster._" in line]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "dagster":
            found += [f"from dagster import {a.name}" for a in node.names if a.name.startswith("_")]
    return found


def test_no_product_module_but_the_adapter_touches_dagster_private_names() -> None:
    modules = [p for package in PRODUCT_PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(modules) > 20  # the scan sees the packages
    offenders = {str(p.relative_to(ROOT)): uses for p in modules if p != ADAPTER
                 if (uses := _private_uses(p.read_text()))}
    assert offenders == {}, "private Dagster names outside sparkify_assets/dagster_internals.py"


def test_the_scan_sees_a_private_import() -> None:
    assert _private_uses("from dagster._core.storage.tags import WILL_RETRY_TAG\n")
    assert _private_uses("from dagster import (\n    AssetKey,\n    _check,\n)\n") == ["from dagster import _check"]
    assert _private_uses("import dagster\nfrom dagster import AssetKey\n") == []
