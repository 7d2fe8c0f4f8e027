"""`officescore score --engine ray`: archives of photos and videos scored on Ray Data.

Ray moves the work: the file list becomes a dataset, `map_batches` hands batches to a pool of
actors that each hold one pipeline (an ONNX Runtime session, the rubric), and the records come
back to be written as JSON lines or Parquet. Scoring itself is the same code as local
`score --json`, so the records are the same. On a real cluster every node must see the paths.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.core.errors import OfficeScoreError, first_line
from edge.inference.pipeline import Pipeline, PipelineConfig
from edge.video.batch import score_path

OUTPUT_SUFFIXES = (".jsonl", ".parquet")
# Actors ask for a share of a CPU: on small machines whole-CPU actors starve Ray's read tasks.
ACTOR_CPUS = 0.5


@dataclass(frozen=True)
class RayJob:
    paths: tuple[Path, ...]
    pipeline: PipelineConfig
    out: Path | None
    sample_fps: float = 5.0
    address: str | None = None  # None: start a local cluster; "auto" or host:port: join one
    actors: int = 2
    batch_size: int = 4


class ScoreActor:
    """Holds one pipeline for its lifetime; scores a batch of paths into records."""

    def __init__(self, config: PipelineConfig, sample_fps: float) -> None:
        self.pipeline = Pipeline(config)
        self.sample_fps = sample_fps

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[str]]:
        records = []
        for path in batch["path"]:
            try:
                record = score_path(Path(str(path)), self.pipeline, None, self.sample_fps)
                records.append(json.dumps(record.to_record()))
            except OfficeScoreError as error:
                records.append(json.dumps({"input": str(path), "error": str(error)}))
        return {"record": records}


def run_ray_job(job: RayJob) -> list[dict[str, Any]]:
    """Score every path on Ray, write `job.out`, and return the records in input order."""
    import ray
    from ray.data import ActorPoolStrategy

    if job.out is None or job.out.suffix not in OUTPUT_SUFFIXES:
        raise OfficeScoreError("--engine ray writes its results to --out FILE.jsonl or .parquet")
    missing = [path for path in job.paths if not path.exists()]
    if missing:
        raise OfficeScoreError(f"input not found: {missing[0]}")
    paths = [path.resolve() for path in job.paths]  # every actor must find them
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started_here = not ray.is_initialized()
    if started_here:
        _start(job.address)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    for name in ("ray", "ray.data"):  # its progress lines are not ours
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        dataset = ray.data.from_items([{"path": str(path)} for path in paths])
        scored = dataset.map_batches(
            ScoreActor,
            fn_constructor_kwargs={"config": job.pipeline, "sample_fps": job.sample_fps},
            batch_size=job.batch_size,
            compute=ActorPoolStrategy(size=job.actors),
            num_cpus=ACTOR_CPUS,
        )
        records = [json.loads(row["record"]) for row in scored.iter_rows()]
    finally:
        if started_here:
            ray.shutdown()
    order = {str(path): index for index, path in enumerate(paths)}
    records.sort(key=lambda record: order.get(record["input"], len(order)))
    write_records(records, job.out)
    return records


def _start(address: str | None) -> None:
    import ray

    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(
                include_dashboard=False,
                log_to_driver=False,
                object_store_memory=256 * 1024 * 1024,
                configure_logging=False,
            )
    except Exception as error:  # ray's own exception types: no cluster at that address
        raise OfficeScoreError(f"cannot start or join Ray ({first_line(error)})") from None


def write_records(records: list[dict[str, Any]], out: Path) -> None:
    """JSON lines (the records as `score --json` prints them) or Parquet (one row a record:
    the main fields as columns, the whole record as JSON)."""
    temporary = out.with_name(f".{out.name}.tmp")
    try:
        if out.suffix == ".jsonl":
            temporary.write_text("".join(json.dumps(record) + "\n" for record in records))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            columns = ("input", "kind", "model", "engine", "score", "coverage", "error")
            table = pa.table(
                {
                    **{name: [record.get(name) for record in records] for name in columns},
                    "record": [json.dumps(record) for record in records],
                }
            )
            pq.write_table(table, temporary)
        os.replace(temporary, out)
    except OSError as error:
        raise OfficeScoreError(f"cannot write {out}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)
