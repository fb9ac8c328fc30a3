"""data/README.md carries the data dictionary generated from the contracts, unchanged.

If this fails after a change to engagement_kit/schema.py, regenerate the block between
the BEGIN/END markers of data/README.md with
``python -c "from engagement_kit.schema import data_dictionary_markdown as d; print(d())"``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engagement_kit.schema import CONTRACTS, DEFAULT_SCALES, data_dictionary_markdown

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "data" / "README.md"


def test_data_readme_contains_the_generated_dictionary():
    assert data_dictionary_markdown() in README.read_text(encoding="utf-8")


def test_generated_dictionary_lists_every_contract_column():
    text = data_dictionary_markdown()
    for contract in CONTRACTS.values():
        assert f"### `{contract.kind}`" in text
        for col in contract.columns:
            assert f"| `{col.name}` |" in text
    for items in DEFAULT_SCALES.values():
        assert f"`{items[0]}` .. `{items[-1]}`" in text


def test_every_real_column_is_described():
    text = README.read_text(encoding="utf-8")
    for path in ("data/real/hillstrom/hillstrom.csv", "data/real/telco_churn/telco_churn.csv"):
        for column in pd.read_csv(ROOT / path, nrows=1).columns:
            assert f"| `{column}` |" in text, f"{path}: column {column} has no entry in data/README.md"


def test_demo_folder_explains_it_is_generated():
    text = (ROOT / "data" / "demo" / "README.md").read_text(encoding="utf-8")
    assert "make report" in text and "not committed" in text
