"""What `eventlake run` remembers between runs: the lock, the unfinished run, the last success.

Everything lives under ``<data_dir>/state/runs/`` beside the lake:

- ``run.lock``: held with ``fcntl.flock`` for the life of a run, so two runs never overlap; the
  kernel releases it when the process dies, so a crash never leaves a stale lock.
- ``pending.json``: the run that has not finished (failed, interrupted): its id, the steps it
  completed and the gate's decision. The next run resumes it at the first step not completed.
- ``last_success.json``: the raw objects the last successful run had seen, for the gate.
- ``dbt/<run id>/<step>/run_results.json``: a failed dbt step's results, read by ``dbt retry``.

Each file is replaced atomically, so a crash leaves the previous version.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from ingestion.raw_zone import STAGING_DIR, atomic_write_bytes
from ingestion.settings import LakePaths
from orchestration.dbt_runner import dbt_target_dir


def runs_dir(paths: LakePaths) -> Path:
    return paths.state / "runs"


class RunLock:
    """An exclusive lock on ``state/runs/run.lock``; the holder writes who it is in it."""

    def __init__(self, paths: LakePaths) -> None:
        self.path = runs_dir(paths) / "run.lock"
        self._handle: IO[str] | None = None

    def acquire(self, *, wait: bool, holder: str) -> bool:
        """Take the lock (blocking when ``wait``); False when another run holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the life of the run
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(holder)
        handle.flush()
        self._handle = handle
        return True

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it (best effort, for the message)."""
        try:
            return self.path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


@dataclass
class PendingRun:
    """A run that has started and not finished; saved after every step."""

    run_id: str
    started_at: str  # ISO 8601 UTC of the first attempt
    forced: bool
    attempt: int = 1
    completed: list[str] = field(default_factory=list)
    failed_step: str | None = None
    new_data: bool | None = None  # the gate's decision, once made
    new_raw_objects: int = 0
    seen: list[str] = field(default_factory=list)  # raw objects listed by the gate
    # The raw feeds that landed new objects, per the gate; None: every feed (first or forced run)
    new_feeds: list[str] | None = None

    def save(self, paths: LakePaths) -> None:
        _write_json(runs_dir(paths) / "pending.json", asdict(self), paths)

    @classmethod
    def load(cls, paths: LakePaths) -> PendingRun | None:
        path = runs_dir(paths) / "pending.json"
        if not path.exists():
            return None
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"{path} is not a run state this version understands ({exc});"
                " run `eventlake run --restart` to start a new run"
            ) from exc

    @staticmethod
    def clear(paths: LakePaths) -> None:
        (runs_dir(paths) / "pending.json").unlink(missing_ok=True)


def raw_objects(paths: LakePaths) -> set[str]:
    """Every landed object of the raw zone, relative to it (staging and dot-folders excluded)."""
    if not paths.raw.exists():
        return set()
    found = set()
    for root, folders, files in os.walk(paths.raw):
        folders[:] = [f for f in folders if not f.startswith(".")]
        base = Path(root).relative_to(paths.raw)
        found.update(str(base / name) for name in files if not name.startswith("."))
    return found


# Where the gate lists the device registry's files among the raw objects:
# registry/<table>.csv@<sha256>, the feed of each being registry:<table>.
REGISTRY_FOLDER = "registry"


def registry_feed(table: str) -> str:
    """The gate's feed name for a registry table (a source's ``registry_table`` meta)."""
    return f"{REGISTRY_FOLDER}:{table}"


def registry_versions(paths: LakePaths) -> set[str]:
    """The device registry's files, each named with a digest of its bytes: an edit (`eventlake
    devices add|retire`, or by hand) is new data for the gate, an unchanged file is not."""
    from orchestration.devices import KINDS, registry_file

    found = set()
    for kind in KINDS.values():
        path = registry_file(paths, kind)
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found.add(f"{REGISTRY_FOLDER}/{kind.table}.csv@{digest}")
    return found


def feeds_of(objects: set[str]) -> list[str]:
    """The raw feeds (the raw zone's top folders) that ``objects`` belong to, and the registry
    tables whose file changed (registry_feed), sorted."""
    feeds = set()
    for name in objects:
        parts = Path(name).parts
        if len(parts) == 2 and parts[0] == REGISTRY_FOLDER:
            feeds.add(registry_feed(parts[1].split(".csv@")[0]))
        elif parts:
            feeds.add(parts[0])
    return sorted(feeds)


def last_success_objects(paths: LakePaths) -> set[str] | None:
    """The raw objects the last successful run had seen; None before the first success."""
    path = runs_dir(paths) / "last_success.json"
    if not path.exists():
        return None
    return set(json.loads(path.read_text())["raw_objects"])


def save_success(paths: LakePaths, run_id: str, seen: list[str]) -> None:
    _write_json(
        runs_dir(paths) / "last_success.json", {"run_id": run_id, "raw_objects": seen}, paths
    )


def dbt_state_dir(paths: LakePaths, run_id: str, step: str) -> Path:
    return runs_dir(paths) / "dbt" / run_id / step


def keep_dbt_results(paths: LakePaths, run_id: str, step: str) -> Path | None:
    """Copy a failed dbt step's ``run_results.json`` aside for ``dbt retry --state`` on resume.

    dbt overwrites ``run_results.json`` in its target folder with every command, so the copy is
    what lets a resumed run retry exactly the nodes that failed or were skipped.
    """
    results = dbt_target_dir() / "run_results.json"
    if not results.exists():
        return None
    folder = dbt_state_dir(paths, run_id, step)
    staging = runs_dir(paths) / STAGING_DIR
    atomic_write_bytes(folder / "run_results.json", results.read_bytes(), staging_root=staging)
    return folder


def forget_dbt_results(paths: LakePaths, run_id: str) -> None:
    shutil.rmtree(runs_dir(paths) / "dbt" / run_id, ignore_errors=True)


def _write_json(path: Path, body: object, paths: LakePaths) -> None:
    atomic_write_bytes(
        path,
        json.dumps(body, indent=1, sort_keys=True).encode(),
        staging_root=runs_dir(paths) / STAGING_DIR,
    )
