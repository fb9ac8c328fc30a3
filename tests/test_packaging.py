"""pyproject.toml and environment.yml declare the same runtime dependencies.

pip users install from pyproject.toml, conda users from environment.yml; when one is
edited and the other is not, the two environments drift apart silently. This test
compares the two lists by normalised name and lower bound.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# conda-forge package name -> PyPI distribution name, where they differ.
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}
# conda entries that are the environment itself, not runtime dependencies of the package.
CONDA_NOT_DEPENDENCIES = {"python", "pip"}

_SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")


def normalise_name(name: str) -> str:
    """PEP 503 normalisation plus the conda -> PyPI aliases (factor_analyzer == factor-analyzer)."""
    name = re.sub(r"[-_.]+", "-", name).lower()
    return CONDA_TO_PYPI.get(name, name)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """'pandas>=2.1' -> ('pandas', '2.1'); the lower bound is None when absent."""
    m = _SPEC.match(spec)
    if m is None:
        raise ValueError(f"cannot parse dependency {spec!r}")
    name, rest = m.group(1), m.group(2)
    lower = re.search(r">=\s*([0-9][0-9A-Za-z.\-]*)", rest)
    return normalise_name(name), lower.group(1) if lower else None


def pyproject_dependencies(text: str) -> dict[str, str | None]:
    deps = tomllib.loads(text)["project"]["dependencies"]
    return dict(parse_spec(d) for d in deps)


def conda_dependencies(text: str) -> dict[str, str | None]:
    """Conda and pip: entries of environment.yml; '-e .' (the package itself) is skipped."""
    out: dict[str, str | None] = {}
    for entry in yaml.safe_load(text)["dependencies"]:
        specs = entry["pip"] if isinstance(entry, dict) else [entry]
        for spec in specs:
            if spec.startswith("-"):
                continue
            name, lower = parse_spec(spec)
            if name not in CONDA_NOT_DEPENDENCIES:
                out[name] = lower
    return out


def dependency_drift(pyproject: dict[str, str | None], conda: dict[str, str | None]) -> list[str]:
    """Human-readable differences between the two dependency lists (empty: in step)."""
    drift = [f"{n} only in pyproject.toml" for n in sorted(pyproject.keys() - conda.keys())]
    drift += [f"{n} only in environment.yml" for n in sorted(conda.keys() - pyproject.keys())]
    drift += [
        f"{n}: lower bound {pyproject[n]} in pyproject.toml but {conda[n]} in environment.yml"
        for n in sorted(pyproject.keys() & conda.keys())
        if pyproject[n] != conda[n]
    ]
    return drift


def test_pyproject_and_environment_yml_declare_the_same_runtime_dependencies() -> None:
    pyproject = pyproject_dependencies((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    conda = conda_dependencies((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert dependency_drift(pyproject, conda) == []


def test_every_runtime_dependency_has_a_lower_bound() -> None:
    pyproject = pyproject_dependencies((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert [n for n, lower in pyproject.items() if lower is None] == []


def test_environment_yml_installs_the_package_itself() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_entries = [e for dep in env["dependencies"] if isinstance(dep, dict) for e in dep.get("pip", [])]
    assert "-e ." in pip_entries


@pytest.mark.parametrize(
    ("conda_spec", "expected"),
    [
        ("python-duckdb>=1.0", ("duckdb", "1.0")),
        ("factor_analyzer>=0.5", ("factor-analyzer", "0.5")),
        ("PyYAML >= 6.0", ("pyyaml", "6.0")),
        ("numpy", ("numpy", None)),
    ],
)
def test_names_are_normalised_across_conda_and_pip(conda_spec: str, expected: tuple[str, str | None]) -> None:
    assert parse_spec(conda_spec) == expected


def test_drift_is_detected() -> None:
    """The checker itself: a missing package, an extra one and a changed bound are all reported."""
    pyproject = pyproject_dependencies('[project]\ndependencies = ["pandas>=2.1", "scipy>=1.11", "seaborn>=0.13"]\n')
    conda = conda_dependencies(
        "dependencies:\n  - python>=3.11\n  - pandas>=2.0\n  - scipy>=1.11\n  - pip\n"
        "  - pip:\n      - tea-tasting>=1.0\n      - -e .\n"
    )
    assert dependency_drift(pyproject, conda) == [
        "seaborn only in pyproject.toml",
        "tea-tasting only in environment.yml",
        "pandas: lower bound 2.1 in pyproject.toml but 2.0 in environment.yml",
    ]
