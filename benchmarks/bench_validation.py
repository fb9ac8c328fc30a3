"""Validation speed on large tables: 1,000,000 customers and 5,000,000 events.

The tables are built as ``read_csv`` returns them (every label, id and date as text),
the worst case for validation since everything has to be parsed; the events table is
also timed with categorical labels and parsed timestamps (as the simulator and
Parquet files give them), and the customers table once more with 1% of its rows
broken (the problem-reporting path). Prints seconds per table.

    python benchmarks/bench_validation.py [--customers N] [--events N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from engagement_kit.frameworks import FRAMEWORKS, SEGMENT_NAMES, TOUCH_MODEL_NAMES
from engagement_kit.validation import validate


def customers_table(n: int, rng: np.random.Generator) -> pd.DataFrame:
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    return pd.DataFrame(
        {
            "customer_id": pd.Series([f"C{i:07d}" for i in range(n)], dtype="str"),
            "segment": pd.Series(np.array(SEGMENT_NAMES)[rng.integers(0, 3, n)], dtype="str"),
            "touch_model": pd.Series(np.array(TOUCH_MODEL_NAMES)[rng.integers(0, 3, n)], dtype="str"),
            "signup_date": pd.Series(days.strftime("%Y-%m-%d"), dtype="str"),
            "prior_revenue": rng.gamma(2.0, 500.0, n),
            "prior_activity": rng.poisson(10, n).astype(float),
            "cost_to_serve": rng.gamma(2.0, 300.0, n),
        }
    )


def events_table(n: int, n_customers: int, rng: np.random.Generator) -> pd.DataFrame:
    pairs = [(f, s) for f, fr in FRAMEWORKS.items() for s in fr.stage_names]
    pick = rng.integers(0, len(pairs), n)
    fw = np.array([p[0] for p in pairs])[pick]
    st = np.array([p[1] for p in pairs])[pick]
    ids = np.array([f"C{i:07d}" for i in range(n_customers)])[rng.integers(0, n_customers, n)]
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s")
    return pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype="str"),
            "timestamp": pd.Series(ts.strftime("%Y-%m-%d %H:%M:%S"), dtype="str"),
            "framework": pd.Series(fw, dtype="str"),
            "stage": pd.Series(st, dtype="str"),
            "value": np.where(rng.random(n) < 0.1, rng.gamma(2.0, 100.0, n), 0.0),
        }
    )


def timed(label: str, data: pd.DataFrame, kind: str) -> None:
    start = time.perf_counter()
    problems = validate(data, kind, today="2026-01-01")
    seconds = time.perf_counter() - start
    print(f"{label:<46} {len(data):>10,} rows  {seconds:6.2f} s  ({len(problems)} problems)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(20261123)

    customers = customers_table(args.customers, rng)
    timed("customers (text columns, as read from CSV)", customers, "customers")

    broken = customers.copy()
    hit = rng.random(len(broken)) < 0.01  # 1% of rows broken in every checked way
    broken.loc[hit, "customer_id"] = "C0000000"
    broken.loc[hit, "touch_model"] = "hi_touch"
    broken.loc[hit, "signup_date"] = "31/12/2024"
    broken.loc[hit, "prior_revenue"] = -1.0
    timed("customers with 1% bad rows in 4 columns", broken, "customers")
    del broken

    events = events_table(args.events, args.customers, rng)
    timed("events (text columns, as read from CSV)", events, "events")

    typed = events.assign(
        customer_id=events["customer_id"].astype("category"),
        framework=events["framework"].astype("category"),
        stage=events["stage"].astype("category"),
        timestamp=pd.to_datetime(events["timestamp"]),
    )
    del events
    timed("events (categorical labels, parsed timestamps)", typed, "events")


if __name__ == "__main__":
    main()
