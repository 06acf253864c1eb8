"""One output row per face, and one per image that has none (no face found, or an error): the schema
of ``agegender predict --csv`` and of ``--out`` files, whatever runs the job."""

from __future__ import annotations

from agegender.predictor import ImageResult

#: Columns of ``--csv`` (stdout).
CSV_FIELDS = ("source", "face", "x0", "y0", "x1", "y1", "score", "age_group", "gender", "undefined", "reason",
              "best_age_group", "best_gender", "p_age_best", "p_gender_best", "age_years", "age_years_spread", "error")
#: Columns of ``--out`` files: the CSV's, plus what resuming and auditing need about each file.
OUT_FIELDS = (*CSV_FIELDS, "file_size", "file_mtime")

#: Arrow types of the ``--out`` columns (Parquet); every column may be null.
ARROW_TYPES = {"source": "string", "face": "int32", "x0": "float32", "y0": "float32", "x1": "float32", "y1": "float32",
               "score": "float32", "age_group": "string", "gender": "string", "undefined": "bool", "reason": "string",
               "best_age_group": "string", "best_gender": "string", "p_age_best": "float32", "p_gender_best": "float32",
               "age_years": "float32", "age_years_spread": "float32", "error": "string", "file_size": "int64",
               "file_mtime": "float64"}


def rows_of(res: ImageResult, file_size: int | None = None, file_mtime: float | None = None) -> list[dict]:
    """The rows of one image (typed values, None where empty)."""
    extra = {"file_size": file_size, "file_mtime": file_mtime}
    if not res.ok or not res.faces:
        empty = dict.fromkeys(CSV_FIELDS)
        return [{**empty, "source": res.source, "undefined": True, "reason": None if not res.ok else "no face found",
                 "error": res.error, **extra}]
    rows = []
    for i, fa in enumerate(res.faces, 1):
        d = fa.answer.to_dict()
        x0, y0, x1, y1 = (round(float(v), 1) for v in fa.face.box)
        rows.append({"source": res.source, "face": i, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                     "score": round(float(fa.face.score), 4), "age_group": d["age_group"], "gender": d["gender"],
                     "undefined": d["undefined"], "reason": d["reason"], "best_age_group": d["best_age_group"],
                     "best_gender": d["best_gender"], "p_age_best": round(max(fa.answer.age_probs), 4),
                     "p_gender_best": round(max(fa.answer.gender_probs), 4), "age_years": d["age_years"],
                     "age_years_spread": d["age_years_spread"], "error": None, **extra})
    return rows


def text_row(row: dict, fields=CSV_FIELDS) -> dict:
    """A row for a CSV file: None as the empty string."""
    return {k: "" if row.get(k) is None else row[k] for k in fields}
