"""Where the notebooks' data comes from: engine choice, loading, preflight and fingerprints
for globs, Parquet folders, .duckdb files and Spark (issue 13)."""

from __future__ import annotations

import os
import warnings

import duckdb
import numpy as np
import pandas as pd
import pytest
from reports_helpers import write_notebook

from engagement_kit import engines
from engagement_kit.experiments import analyze
from engagement_kit.io import load_data
from engagement_kit.reports import __main__ as cli
from engagement_kit.reports import manifest, runner
from engagement_kit.reports.manifest import fingerprint


def _frame(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"arm": rng.choice(["a", "b"], n), "y": rng.normal(size=n), "x": rng.normal(size=n)})


def test_auto_picks_duckdb_for_globs_databases_parquet_folders_and_large_files(tmp_path, monkeypatch):
    (tmp_path / "lake").mkdir()
    _frame().to_parquet(tmp_path / "lake" / "part-0.parquet")
    _frame().to_csv(tmp_path / "small.csv", index=False)
    assert engines.choose_engine("data/demo") == "pandas"
    assert engines.choose_engine(tmp_path / "small.csv") == "pandas"
    assert engines.choose_engine(str(tmp_path / "lake" / "*.parquet")) == "duckdb"
    assert engines.choose_engine(tmp_path / "lake") == "duckdb"
    assert engines.choose_engine(tmp_path / "db.duckdb") == "duckdb"
    monkeypatch.setattr(engines, "AUTO_DUCKDB_BYTES", 100)
    assert engines.choose_engine(tmp_path / "small.csv") == "duckdb"
    assert engines.choose_engine(tmp_path / "small.csv", engine="pandas") == "pandas"
    with pytest.raises(ValueError, match="engine must be one of auto, pandas, duckdb, spark"):
        engines.choose_engine("x.csv", engine="polars")


def test_load_data_reads_a_duckdb_table_and_samples_in_the_engine(tmp_path):
    df = _frame(2000)
    with duckdb.connect(str(tmp_path / "db.duckdb")) as con:
        con.register("df", df)
        con.execute("CREATE TABLE ab AS SELECT * FROM df")
    t = load_data(str(tmp_path / "db.duckdb"), table="ab")
    assert engines.engine_of(t) == "duckdb" and engines.n_rows(t) == 2000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = analyze(t, arm_col="arm", control="a", metrics={"y": "continuous"})
        want = analyze(df, arm_col="arm", control="a", metrics={"y": "continuous"})
    num = ["n_arm", "n_control", "diff", "se", "p_value"]
    np.testing.assert_allclose(got[num].to_numpy(float), want[num].to_numpy(float), rtol=1e-9)
    sample = engines.n_rows(load_data(str(tmp_path / "db.duckdb"), table="ab", sample_n=500, seed=1))
    assert 380 < sample < 620  # Bernoulli(0.25) of 2000: sd ~19


def test_the_demo_folder_joined_by_duckdb_equals_the_pandas_loader():
    a = load_data("data/demo")
    b = load_data("data/demo", engine="duckdb").to_pandas()
    assert len(a) == len(b) and set(a.columns) == set(b.columns)
    b = b.set_index("customer_id").loc[a["customer_id"]].reset_index()
    for col in ("revenue", "prior_revenue", "nps", "csat", "referrals"):
        np.testing.assert_array_equal(a[col].to_numpy(float), b[col].to_numpy(float), err_msg=col)


def test_large_files_are_fingerprinted_without_reading_them_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(manifest, "FULL_HASH_MAX_BYTES", 1000)
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "1,2\n" * 1_000_000)
    first = fingerprint(path)
    assert first.rows is None and first.bytes == path.stat().st_size  # counting would parse it all
    assert fingerprint(path) == first
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1))
    assert fingerprint(path).sha256 != first.sha256  # rewritten: the mtime moved
    _frame().to_parquet(tmp_path / "t.parquet")
    assert fingerprint(tmp_path / "t.parquet").rows == 400  # Parquet rows: from the footer
    _frame().to_parquet(tmp_path / "u.parquet")
    globbed = fingerprint(str(tmp_path / "*.parquet"))
    assert globbed.bytes == (tmp_path / "t.parquet").stat().st_size + (tmp_path / "u.parquet").stat().st_size


def test_preflight_reads_the_columns_of_a_glob_and_skips_spark(tmp_path, monkeypatch, capsys):
    write_notebook(
        tmp_path / "notebooks" / "cols.ipynb",
        'data_path = "data/t.csv"  # the table\n'
        'engine = "auto"  # where the rows are aggregated\n'
        'table = None  # a table name\n'
        'arm_col = "arm"  # [column of data_path] arm of each row\n'
        'output_dir = "."  # results',
    )
    (tmp_path / "lake").mkdir()
    _frame().to_parquet(tmp_path / "lake" / "p0.parquet")
    cfg = tmp_path / "reports.yaml"
    monkeypatch.setattr(runner, "run_batch", lambda *a, **k: (_ for _ in ()).throw(AssertionError("kernel")))

    def report(params: str) -> int:
        cfg.write_text(f"runs:\n  - name: c\n    notebook: notebooks/cols.ipynb\n    parameters: {params}\n")
        return cli.main(["--config", str(cfg), "--output-root", str(tmp_path / "out")])

    assert report("{data_path: 'lake/*.parquet', arm_col: amr}") == 2
    err = capsys.readouterr().err
    assert "'arm_col' names column 'amr'" in err and "closest: 'arm'" in err
    assert report("{data_path: 'lake/*.csv', arm_col: arm}") == 2
    assert "matches no file" in capsys.readouterr().err
    with pytest.raises(AssertionError, match="kernel"):  # spark + table: no header to read, the kernel starts
        report("{engine: spark, table: ab, arm_col: amr}")
