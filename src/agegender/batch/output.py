"""Answer files a killed job can resume: Parquet (a folder of part files), CSV or JSON Lines.

Each batch of rows is made durable before the next is predicted — a Parquet part file written to a
temporary name and renamed into place, or lines appended and flushed — so a job killed at any moment
loses at most the batch it was working on. :func:`done_sources` reads back which images an output
already answers, so ``--resume`` skips them and adds no duplicates (a half-written last CSV/JSONL line
is cut off first).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from agegender.batch.rows import ARROW_TYPES, OUT_FIELDS, text_row

FORMATS = (".parquet", ".csv", ".jsonl")


def output_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: the answers file must end in .parquet (a folder of part files), .csv or .jsonl")
    return suffix


def arrow_schema():
    import pyarrow as pa

    types = {"string": pa.string, "int32": pa.int32, "int64": pa.int64, "float32": pa.float32, "float64": pa.float64,
             "bool": pa.bool_}
    return pa.schema([(name, types[ARROW_TYPES[name]]()) for name in OUT_FIELDS])


def done_sources(path: str | Path) -> set[str]:
    """The sources an existing answers file already holds (empty when it does not exist). A Parquet
    folder may also be an fsspec URL (what ``--engine ray`` writes on a cluster)."""
    fmt = output_format(path)
    if "://" in str(path):
        import fsspec
        import pyarrow.parquet as pq

        fs, root = fsspec.core.url_to_fs(str(path))
        if not fs.exists(root):
            return set()
        done: set[str] = set()
        for part in fs.glob(root.rstrip("/") + "/*.parquet"):
            with fs.open(part, "rb") as f:
                done.update(pq.read_table(f, columns=["source"]).column("source").to_pylist())
        return done
    path = Path(path)
    if not path.exists():
        return set()
    if fmt == ".parquet":
        import pyarrow.parquet as pq

        parts = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        return {s for p in parts for s in pq.read_table(p, columns=["source"]).column("source").to_pylist()}
    _cut_partial_line(path)
    with path.open(newline="", encoding="utf-8") as f:
        if fmt == ".csv":
            return {row["source"] for row in csv.DictReader(f)}
        return {json.loads(line)["source"] for line in f if line.strip()}


def _cut_partial_line(path: Path) -> None:
    """Drop a last line without its newline (a job killed mid-write), so appending starts clean."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)


class AnswerWriter:
    """``write(rows)`` once per batch; every call is durable when it returns."""

    def __init__(self, path: str | Path, resume: bool = False):
        self.path = Path(path)
        self.format = output_format(self.path)
        if self.path.exists() and not resume:
            raise FileExistsError(f"{self.path}: already exists (add --resume to continue it, or choose another --out)")
        self.rows_written = 0
        if self.format == ".parquet":
            self.path.mkdir(parents=True, exist_ok=True)
            self._part = len(list(self.path.glob("part-*.parquet")))
            self._schema = arrow_schema()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                _cut_partial_line(self.path)
            new = not self.path.exists() or self.path.stat().st_size == 0
            self._file = self.path.open("a", newline="", encoding="utf-8")
            if self.format == ".csv":
                self._csv = csv.DictWriter(self._file, fieldnames=OUT_FIELDS)
                if new:
                    self._csv.writeheader()
                    self._flush()

    def write(self, rows: list[dict]) -> None:
        if not rows:
            return
        if self.format == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pylist([{k: r.get(k) for k in OUT_FIELDS} for r in rows], schema=self._schema)
            target = self.path / f"part-{self._part:06d}.parquet"
            tmp = self.path / f".{target.name}.tmp"
            pq.write_table(table, tmp)
            os.replace(tmp, target)
            self._part += 1
        elif self.format == ".csv":
            self._csv.writerows(text_row(r, OUT_FIELDS) for r in rows)
            self._flush()
        else:
            for r in rows:
                self._file.write(json.dumps({k: r.get(k) for k in OUT_FIELDS}) + "\n")
            self._flush()
        self.rows_written += len(rows)

    def _flush(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self.format != ".parquet":
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_answers(path: str | Path):
    """An answers file as a pandas DataFrame (any of the three formats)."""
    import pandas as pd

    fmt = output_format(path)
    if fmt == ".parquet":
        return pd.read_parquet(path)
    if fmt == ".csv":
        return pd.read_csv(path)
    return pd.read_json(path, lines=True)
