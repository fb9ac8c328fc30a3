"""Notebooks tell the story; the library does the work (the one-shape issue).

Every code cell of an analysis notebook is short (at most 15 lines) and defines no
function or class and runs no loop: a step a notebook needs is a library function. The
cell tagged ``parameters`` is exempt from the line limit only: it declares one parameter
per line and holds no logic (papermill reads a single parameters cell).
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
MAX_LINES = 15


def _problems(source: str, parameters: bool = False) -> list[str]:
    out = []
    lines = [line for line in source.splitlines() if line.strip()]
    if len(lines) > MAX_LINES and not parameters:
        out.append(f"{len(lines)} lines (at most {MAX_LINES})")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            out.append(f"defines {getattr(node, 'name', 'a lambda')} (line {node.lineno})")
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            out.append(f"a loop (line {node.lineno})")
    return out


def test_the_rule_catches_what_it_forbids():
    assert _problems("def f():\n    pass") and _problems("for m in x:\n    print(m)")
    assert _problems("\n".join(f"x{i} = {i}" for i in range(16)))
    assert not _problems("result = ex.experiment(data, arm_col=arm_col)\nresult.write(output_dir)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_code_cells_are_thin(path):
    nb = nbformat.read(path, as_version=4)
    bad = {
        i: problems
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and (problems := _problems(cell.source, "parameters" in cell.get("metadata", {}).get("tags", [])))
    }
    assert not bad, f"{path.name}: cells doing library work: {bad}"
