"""The package's import graph has no cycle.

A small AST walk over ``engagement_kit/**/*.py``: every ``import`` and ``from ... import``
statement, absolute or relative, **wherever it stands** -- at module level or inside a
function (a lazy import cycle is still a cycle: it only moves the failure to run time, and
it still ties the two modules together). An edge goes to the imported module; ``from pkg
import name`` goes to ``pkg.name`` when that is a module, else to ``pkg``. Not counted:
the implicit import of a module's parent packages (every sub-module would otherwise
depend on its package's ``__init__``) and ``importlib.import_module`` strings.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "engagement_kit"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module ``name`` or its nearest enclosing module of the package (None outside it)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports}`` for every module of the package."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                if t.split(".")[0] == PACKAGE and (dep := _resolve(t, modules)) and dep != mod:
                    graph[mod].add(dep)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_walk_sees_relative_absolute_and_function_level_imports():
    graph = import_graph()
    assert "engagement_kit.stats.multitest" in graph["engagement_kit.experiments.effects"]  # from ..stats.multitest
    assert "engagement_kit.stats.survival" in graph["engagement_kit.hypotheses"]  # inside a function
    assert "engagement_kit.reports.runner" in graph["engagement_kit.cli"]  # from .reports.runner, in a function
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_package_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
