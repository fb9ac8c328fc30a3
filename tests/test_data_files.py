"""The real data sets in data/real/ are the published files, unchanged.

Reference values: the provenance notes (data/real/README.md, copied from the project's
shared data notes), which give the sha256, byte size and shape of each file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

REAL = Path(__file__).resolve().parents[1] / "data" / "real"

# file -> (sha256, bytes, rows, columns), as published in the provenance notes.
EXPECTED = {
    "hillstrom/hillstrom.csv": (
        "27bab8c5d3669f26ec08ebb50a0a78317542f29501156f2e2af6781fab4cd7e2",
        3_900_976,
        64_000,
        12,
    ),
    "telco_churn/telco_churn.csv": (
        "16320c9c1ec72448db59aa0a26a0b95401046bef5d02fd3aeb906448e3055e91",
        970_457,
        7_043,
        21,
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_matches_published_checksum(name: str) -> None:
    sha256, n_bytes, _, _ = EXPECTED[name]
    path = REAL / name
    assert path.stat().st_size == n_bytes
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_shape_matches_provenance(name: str) -> None:
    _, _, rows, cols = EXPECTED[name]
    df = pd.read_csv(REAL / name)
    assert df.shape == (rows, cols)


def test_provenance_notes_state_the_checksums() -> None:
    notes = (REAL / "README.md").read_text(encoding="utf-8")
    for sha256, *_ in EXPECTED.values():
        assert sha256 in notes
