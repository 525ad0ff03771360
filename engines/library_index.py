"""Index a sample library: walk a folder, decide what changed since the catalogue last saw it, analyse that in
parallel, and hand each result back as it arrives.

Two engines run the same worker function (`sample_analysis.index_one`) and give the same results:
* a local process pool (default; `workers` processes, one BLAS thread each, spawned — never forked from a
  server with threads);
* a Dask distributed cluster reached at an address (`tcp://host:8786`), for libraries larger than one machine
  wants to chew: the scheduler spreads files over its workers, which must see the library at the same path
  (a shared or mounted folder) and have liveloom installed.

Dask rather than Ray: pure-Python wheels (no second runtime or object store to install beside a DAW), a
`LocalCluster` or `dask scheduler` / `dask worker` in one command each, futures that are plain enough to cancel
one by one, and the PyData stack librosa and NumPy already sit in.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from liveloom.engines import sample_analysis
from liveloom.music.errors import LiveloomError
from liveloom.music.jobs import NO_JOB, Job

MAX_FILES = 500_000
POLL_S = 0.2  # how often a wait looks at the cancel flag


@dataclass(frozen=True)
class FileStat:
    path: str
    size: int
    mtime_ns: int


@dataclass
class Scan:
    files: list[FileStat] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, why): links out of the folder


def scan(root: Path, job: Job = NO_JOB, limit: int = MAX_FILES) -> Scan:
    """Every audio and MIDI file under `root` (hidden files and folders left out), by real path. A link that leads
    out of the folder is refused, not followed."""
    out = Scan()
    real_root = Path(os.path.realpath(root))
    seen = 0
    for dirpath, dirnames, filenames in os.walk(real_root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(sample_analysis.SUFFIXES):
                continue
            seen += 1
            if seen > limit:
                raise LiveloomError(f"{root} holds more than {limit:,} audio and MIDI files; index its sub-folders "
                                    "one at a time")
            if seen % 2000 == 0:
                job.check()
            p = Path(dirpath) / name
            real = Path(os.path.realpath(p))
            if not real.is_relative_to(real_root):
                out.refused.append((str(p), f"a link to {real}, outside the folder being indexed"))
                continue
            try:
                st = real.stat()
            except OSError as exc:
                out.refused.append((str(p), f"cannot be read ({exc.strerror or exc})"))
                continue
            out.files.append(FileStat(str(real), st.st_size, st.st_mtime_ns))
    return out


# -- the engines --------------------------------------------------------------------------------------------------
class Engine:
    """Runs `index_one` over paths; yields (path, result) as results arrive, honouring the job's cancel flag."""

    name = ""

    def run(self, paths: list[str], options: dict, job: Job) -> Iterator[tuple[str, dict]]:
        raise NotImplementedError


class LocalPool(Engine):
    """A process pool on this machine. A worker that dies (a decoder crashing on one odd file) breaks the whole
    pool: it is started again and the unfinished files are sent again; a file in flight at MAX_CRASHES crashes is
    the likely culprit and is reported as failed. A pool that cannot start at all is an error, not N failures."""

    MAX_CRASHES = 3

    def __init__(self, workers: int):
        self.workers = workers
        self.name = f"local process pool ({workers} worker{'s' if workers != 1 else ''})"

    def _pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=sample_analysis.limit_threads)

    def run(self, paths, options, job):
        crashes: dict[str, int] = {}
        queue, answered, breaks = list(paths), 0, 0
        while queue:
            pool = self._pool()
            pending: dict[cf.Future, str] = {}
            broken: list[str] = []
            try:
                for p in queue:
                    pending[pool.submit(sample_analysis.index_one, p, **options)] = p
                while pending:
                    done, _ = cf.wait(pending, timeout=POLL_S, return_when=cf.FIRST_COMPLETED)
                    job.check()
                    for fut in done:
                        path = pending.pop(fut)
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            broken.append(path)
                            continue
                        except Exception as exc:  # noqa: BLE001 - one file's odd failure
                            result = {"ok": False, "reason": f"could not be analysed ({str(exc)[:160]})"}
                        answered += 1
                        yield path, result
            finally:
                for fut in pending:
                    fut.cancel()
                pool.shutdown(wait=not pending and not broken, cancel_futures=True)
            if not broken:
                return
            breaks += 1
            if answered == 0 and breaks >= 2:
                raise LiveloomError("the analysis worker processes stopped before finishing any file (out of "
                                    "memory, or liveloom cannot start there); try fewer workers")
            queue = []
            for path in broken:
                crashes[path] = crashes.get(path, 0) + 1
                if crashes[path] >= self.MAX_CRASHES:
                    yield path, {"ok": False, "reason": "the analyser crashed on it (a decoder failure on an odd or "
                                                        "damaged file); re-export it"}
                else:
                    queue.append(path)


class DaskCluster(Engine):
    def __init__(self, address: str):
        self.address = address
        self.name = f"Dask cluster at {address}"

    def run(self, paths, options, job):
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise LiveloomError("indexing on a cluster needs Dask distributed: pip install 'liveloom[cluster]' "
                                "(or `pip install distributed`)") from None
        try:
            client = Client(self.address, timeout=10, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise LiveloomError(f"no Dask scheduler answered at {self.address} ({str(exc)[:160]}); start one with "
                                "`dask scheduler` and workers with `dask worker ADDRESS`") from None
        pending: dict = {}
        try:
            workers = len(client.scheduler_info().get("workers", {}))
            if workers == 0:
                raise LiveloomError(f"the Dask scheduler at {self.address} has no workers; start some with "
                                    f"`dask worker {self.address}`")
            self.name = f"Dask cluster at {self.address} ({workers} workers)"
            futures = client.map(sample_analysis.index_one, paths, pure=False, **options)
            pending = dict(zip(futures, paths))
            arriving = as_completed(futures, loop=client.loop)
            while pending:
                done = arriving.next_batch(block=False)
                job.check()
                if not done:
                    time.sleep(0.05)
                for fut in done:
                    path = pending.pop(fut)
                    yield path, _result_of(fut)
        finally:
            if pending:
                client.cancel(list(pending))
            client.close()


def _result_of(fut) -> dict:
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - a worker that died (memory, a crash in a decoder) fails one file
        return {"ok": False, "reason": f"the worker analysing it stopped ({str(exc)[:160] or 'it crashed'})"}


def engine_for(workers: int, address: str | None) -> Engine:
    return DaskCluster(address) if address else LocalPool(workers)


def default_workers() -> int:
    """All cores but one, at most 8 (a DAW keeps the last core)."""
    return max(1, min(8, (os.cpu_count() or 2) - 1))


@dataclass
class Plan:
    """What an index run must do with each file found."""

    unchanged: int = 0
    analyse: list[FileStat] = field(default_factory=list)
    reuse: list[tuple[FileStat, str, dict]] = field(default_factory=list)  # same content known: (file, hash, record)
    gone: list[str] = field(default_factory=list)


def plan(found: list[FileStat], known: dict, failed: dict, by_hash: Callable[[list[str]], dict],
         version: int, force: bool = False, job: Job = NO_JOB) -> Plan:
    """Unchanged files (same size and modification time, analysed by this version) are left alone; a file whose
    content the catalogue already holds (moved, renamed, only touched) takes its stored analysis; the rest are
    analysed. Failed files are tried again only when they change."""
    out = Plan()
    here = {f.path for f in found}
    out.gone = [p for p in (*known, *failed) if p not in here]
    sizes = {k.size for k in known.values()}
    candidates: list[tuple[FileStat, str]] = []
    for i, f in enumerate(found):
        k = known.get(f.path) or failed.get(f.path)
        if not force and k is not None and (k.size, k.mtime_ns, k.version) == (f.size, f.mtime_ns, version):
            out.unchanged += 1
            continue
        if not force and f.size in sizes:
            if i % 200 == 0:
                job.check()
            try:
                candidates.append((f, sample_analysis.content_hash(f.path)))
            except OSError:
                out.analyse.append(f)  # the worker will say why it cannot be read
            continue
        out.analyse.append(f)
    stored = by_hash([h for _, h in candidates]) if candidates else {}
    for f, h in candidates:
        if h in stored:
            out.reuse.append((f, h, stored[h]))
        else:
            out.analyse.append(f)
    return out


def run_index(root: Path, catalogue, engine: Engine, *, options: dict, force: bool = False,
              job: Job = NO_JOB) -> dict:
    """Index `root` into `catalogue` (a store.catalogue.Catalogue: known, by_hash, writer, forget, start_run,
    finish_run): scan, plan, reuse what is known, analyse the rest with `engine`, commit results as they come.
    Progress per file; a cancelled job stops within POLL_S and keeps the rows already written (the next run
    resumes from them). -> counts for the report."""
    root_s = str(Path(os.path.realpath(root)))
    job.progress(0, 1, "listing files")
    found = scan(root, job)
    known, failed = catalogue.known(root_s)
    run_id, unfinished = catalogue.start_run(root_s)
    todo = plan([FileStat(f.path, f.size, f.mtime_ns) for f in found.files], known, failed,
                lambda hashes: catalogue.by_hash(hashes, sample_analysis.VERSION), sample_analysis.VERSION,
                force=force, job=job)
    counts = {"found": len(found.files), "unchanged": todo.unchanged, "reused": len(todo.reuse),
              "analysed": 0, "failed": len(found.refused), "removed": catalogue.forget(todo.gone),
              "resumed": unfinished is not None,
              "engine": engine.name}
    failures: list[tuple[str, str]] = list(found.refused)
    writer = catalogue.writer()
    stats = {f.path: f for f in todo.analyse}
    try:
        for f, digest, record in todo.reuse:
            writer.analysed(f, root_s, digest, sample_analysis.VERSION, record)
        total = len(todo.analyse)
        job.progress(0, total, "analysing")
        for done, (path, result) in enumerate(engine.run([f.path for f in todo.analyse], options, job), 1):
            f = stats[path]
            if result.get("ok"):
                record = {k: v for k, v in result.items() if k not in ("ok", "hash")}
                writer.analysed(f, root_s, result["hash"], sample_analysis.VERSION, record)
                counts["analysed"] += 1
            else:
                writer.failed(f, root_s, sample_analysis.VERSION, result.get("reason", "unknown"))
                failures.append((path, result.get("reason", "unknown")))
                counts["failed"] += 1
            job.progress(done, total, "analysing")
    finally:
        writer.close()
    counts["engine"] = engine.name  # with what it learnt on the way (a cluster's worker count)
    catalogue.finish_run(run_id, counts)
    counts["failures"] = failures
    return counts
