"""The report store's memory of a monitored experiment: one history of looks per monitor.

A run declared with ``monitor: NAME`` in ``reports.yaml`` is one scheduled look at a running
experiment. Before it runs, the batch passes it the times of the earlier looks (the notebook
parameter ``monitor_looks``), so the confidence sequences are drawn at every look so far;
after it succeeds, the batch appends this look to ``<output root>/monitors/NAME.json``: when
it ran, the data's cut-off time, and per metric x arm the counts, estimate, standard error,
confidence sequence, anytime-valid p-value and decision (the notebook's ``sequential.csv``
at its last look). The file is rewritten atomically. A look is added once: a rerun of the
same batch (same run id and run), a later batch whose run was served from the cache (same
data, same parameters), or a look at data with the same cut-off time adds nothing. A skipped or late look breaks nothing:
confidence sequences are valid at any stopping time.

Example
-------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> look = {"batch": "b1", "run": "exp", "cache_key": "k1", "time": "2026-01-05 00:00:00", "rows": []}
>>> append_look(root, "q3", look), append_look(root, "q3", look)
(True, False)
>>> earlier_looks(read_history(root, "q3"), batch="b2", run="exp")
['2026-01-05 00:00:00']
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .manifest import write_json_atomic

__all__ = ["LOOK_FIELDS", "MONITOR_PARAMETER", "append_look", "earlier_looks", "history_path", "look_record",
           "read_history"]  # fmt: skip

#: The notebook parameter through which a monitored run receives the earlier looks' times.
MONITOR_PARAMETER = "monitor_looks"
#: The table a monitored run writes (one row per look x metric x arm).
SEQUENTIAL_CSV = "sequential.csv"
#: Columns of ``sequential.csv`` kept for each metric x arm of a look.
LOOK_FIELDS = ("metric", "arm", "control", "n_arm", "n_control", "estimate", "se", "cs_low", "cs_high",
               "p_value", "decision")  # fmt: skip


def history_path(output_root: Path, monitor: str) -> Path:
    """``<output root>/monitors/<monitor>.json``."""
    return Path(output_root) / "monitors" / f"{monitor}.json"


def read_history(output_root: Path, monitor: str) -> list[dict[str, Any]]:
    """The looks recorded so far, oldest first (empty when there are none or the file is unreadable)."""
    try:
        looks = json.loads(history_path(output_root, monitor).read_text(encoding="utf-8"))["looks"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [x for x in looks if isinstance(x, dict)] if isinstance(looks, list) else []


def earlier_looks(history: list[dict[str, Any]], *, batch: str, run: str) -> list[str]:
    """The data cut-off times of the looks not taken by this batch's run (sorted, unique)."""
    times = {str(x.get("time")) for x in history if x.get("time") and (x.get("batch"), x.get("run")) != (batch, run)}
    return sorted(times)


def _number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def look_record(run_dir: Path, **identity: Any) -> dict[str, Any] | None:
    """This run's look from its ``sequential.csv`` (the rows of the last look), with the
    ``identity`` fields (batch, run, cache_key, run_at); None when the run wrote no look."""
    path = Path(run_dir) / SEQUENTIAL_CSV
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or "look" not in rows[0]:
        return None
    last = max(int(float(r["look"])) for r in rows if r.get("look"))
    mine = [r for r in rows if r.get("look") and int(float(r["look"])) == last]
    return {
        **identity,
        "look": last,
        "time": mine[0].get("time", ""),
        "rows": [{k: _number(r[k]) if k not in ("metric", "arm", "control", "decision") else r[k]
                  for k in LOOK_FIELDS if k in r} for r in mine],  # fmt: skip
    }


def append_look(output_root: Path, monitor: str, look: dict[str, Any]) -> bool:
    """Add ``look`` to the monitor's history unless it is there already (the same batch and
    run, or the same cache key); returns whether it was added."""
    history = read_history(output_root, monitor)
    for x in history:
        same_run = (x.get("batch"), x.get("run")) == (look.get("batch"), look.get("run"))
        same_result = look.get("cache_key") and x.get("cache_key") == look.get("cache_key")
        same_data = look.get("time") and x.get("time") == look.get("time")  # no new customer since
        if same_run or same_result or same_data:
            return False
    path = history_path(output_root, monitor)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"monitor": monitor, "looks": [*history, look]})
    return True
