"""Large jobs: every core of one machine, resumable columnar output, any storage, and Ray clusters.

* :mod:`~agegender.batch.sources` — inputs streamed from paths, folders, globs, manifests or fsspec URLs;
* :mod:`~agegender.batch.rows` — one output row per face (and per image without one), one schema;
* :mod:`~agegender.batch.output` — Parquet / CSV / JSON Lines writers that a killed job can resume;
* :mod:`~agegender.batch.run` — N worker processes, each with its own model (:func:`predict_files`);
* :mod:`~agegender.batch.ray_engine` — the same job as a Ray Data pipeline (``agegender[ray]``).
"""
