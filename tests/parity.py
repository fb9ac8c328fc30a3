"""The one comparison every engine-parity test makes: the same tables from two engines."""

from __future__ import annotations

import numpy as np
import pandas as pd


def assert_same_tables(expected: dict, got: dict, source: str) -> None:
    """Same table names, columns and shapes; numbers equal to 1e-9 relative; labels exactly."""
    assert sorted(expected) == sorted(got)
    for name, a in expected.items():
        b = got[name]
        assert list(a.columns) == list(b.columns), (source, name)
        assert a.shape == b.shape, (source, name, a.shape, b.shape)
        numeric = [c for c in a.columns if a[c].dtype.kind in "fiu" and b[c].dtype.kind in "fiub"]
        if len(a):
            np.testing.assert_allclose(b[numeric].to_numpy(float), a[numeric].to_numpy(float), rtol=1e-9,
                                       atol=0, err_msg=f"{source}: table {name}")
        labels = [c for c in a.columns if c not in numeric]
        pd.testing.assert_frame_equal(a[labels].astype(str).reset_index(drop=True),
                                      b[labels].astype(str).reset_index(drop=True), obj=f"{source}: {name}")
