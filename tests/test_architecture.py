"""The layout's rules, read from the source: who may import whom (docs/architecture.md)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("protocol", "queries", "node", "coordinator", "lhs", "demo")

ALLOWED: dict[str, set[str]] = {
    "protocol": set(),
    "queries": {"protocol"},
    "node": {"protocol", "queries"},
    "coordinator": {"protocol", "queries"},
    "lhs": {"protocol", "queries"},  # the roles' commands are loaded by name, on demand
    "demo": {"protocol", "queries", "node", "coordinator"},
}
"""The packages each package may import (besides itself and third-party libraries)."""


def _modules(package: str) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _dotted(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path, tree: ast.Module) -> Iterator[tuple[str, list[str], int]]:
    """Yield (absolute module, names, line) of every import, relative ones resolved."""
    here = _dotted(path)
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            yield module, [alias.name for alias in node.names], node.lineno


def _edges() -> set[tuple[str, str]]:
    edges = set()
    for package in PACKAGES:
        for path, tree in _modules(package):
            for module, _, _ in _imports(path, tree):
                top = module.partition(".")[0]
                if top in PACKAGES and top != package:
                    edges.add((package, top))
    return edges


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_the_layout_allows(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path, tree in _modules(package)
        for module, _, line in _imports(path, tree)
        if module.partition(".")[0] in set(PACKAGES) - ALLOWED[package] - {package}
    ]
    assert not wrong, "\n".join(wrong)


def test_the_package_graph_has_no_cycle() -> None:
    edges = _edges()
    # Kahn: peel packages nothing (left) depends on; a cycle is what cannot be peeled.
    left = set(PACKAGES)
    while True:
        free = {p for p in left if not any(a == p and b in left for a, b in edges)}
        if not free:
            break
        left -= free
    assert not left, f"import cycle among {sorted(left)}: {sorted(edges)}"


def test_no_private_name_crosses_a_protocol_subpackage() -> None:
    wrong = []
    for path, tree in _modules("protocol"):
        here = _dotted(path)
        sub = here[1] if len(here) > 1 and path.parent != ROOT / "protocol" else None
        for module, names, line in _imports(path, tree):
            parts = module.split(".")
            if parts[0] != "protocol" or len(parts) < 2:
                continue
            if parts[1] == sub:
                # Within one subpackage its modules are private to it, their names are not.
                folder = ROOT.joinpath(*parts)
                private = [
                    n for n in names if n.startswith("_") and not (folder / f"{n}.py").exists()
                ]
            else:
                private = [p for p in parts[1:] if p.startswith("_")]
                private += [n for n in names if n.startswith("_")]
            if private:
                wrong.append(f"{path.relative_to(ROOT)}:{line} {module} {private}")
    assert not wrong, "\n".join(wrong)


def test_the_rules_see_real_imports() -> None:
    # Guard against a parser that finds nothing: the known edges must be there.
    edges = _edges()
    assert {("node", "protocol"), ("coordinator", "protocol"), ("demo", "node")} <= edges
    assert ("demo", "coordinator") in edges and ("queries", "protocol") in edges
