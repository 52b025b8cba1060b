"""Every object of a malformed-input corpus is accepted or quarantined with its expected reason,
and the build never fails on input: one dbt build per feed over a small lake of one object per
kind (tests/reliability/malformed_corpus.py). The per-feed table it prints (pytest -s) is the
one in docs/reliability.md."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from lakehelpers import dbt
from malformed_corpus import Kind, seismic_kinds, temperature_kinds, traffic_kinds

from ingestion.raw_zone import atomic_write_bytes
from ingestion.settings import LakePaths, lake_paths
from orchestration.dbt_runner import dbt_executable, ensure_profiles
from orchestration.relations import Relations

pytestmark = pytest.mark.dbt

# every kind lands in the same processing hour, named after the kind
PREFIX = "2026/03/01/10"
STAMP = "2026-03-01-10-00-00"
KIND_IN_NAME = re.compile(r"-corpus-([a-z0-9_]+?)(?:\.gz)?$")


@dataclass(frozen=True)
class Feed:
    name: str
    folder: str
    stream: str
    staging_model: str
    select: tuple[str, ...]
    kinds: list[Kind]


FEEDS = {
    "traffic": Feed(
        "traffic", "traffic_measurements", "traffic", "stg_traffic_firehose__measurements",
        ("+quarantine_rejected_rows", "assert_every_traffic_line_is_accepted_or_quarantined"),
        traffic_kinds(),
    ),
    "temperature": Feed(
        "temperature", "sensor_readings", "sensors", "stg_sensor_firehose__readings",
        ("+quarantine_rejected_rows", "+int_temperature_readings_unioned",
         "assert_every_landed_line_is_accepted_or_quarantined"),
        temperature_kinds(),
    ),
    "seismic": Feed(
        "seismic", "seismic_events", "emsc", "stg_seismic__features",
        ("+quarantine_rejected_rows", "+int_seismic_event_versions",
         "assert_every_landed_seismic_feature_is_accepted_or_quarantined"),
        seismic_kinds(),
    ),
}  # fmt: skip


def land_corpus(paths: LakePaths, feed: Feed) -> None:
    for kind in feed.kinds:
        name = f"{feed.stream}-1-{STAMP}-corpus-{kind.name}{'.gz' if kind.gz_name else ''}"
        target = paths.raw / feed.folder / PREFIX / name
        atomic_write_bytes(target, kind.body, staging_root=paths.raw / ".staging")


def outcomes(paths: LakePaths, feed: Feed) -> dict[str, Counter[str]]:
    relation = Relations.from_manifest().model(feed.staging_model)
    with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
        rows = con.execute(
            f"select source_file, coalesce(rejection_reason, 'accepted') from {relation}"
        ).fetchall()
    found: dict[str, Counter[str]] = {}
    for source_file, outcome in rows:
        kind = KIND_IN_NAME.search(source_file)
        assert kind, f"a staged row from an object the corpus did not land: {source_file}"
        found.setdefault(kind.group(1), Counter())[outcome] += 1
    return found


@pytest.mark.parametrize("feed_name", sorted(FEEDS))
def test_every_corpus_object_gets_its_expected_outcome(tmp_path: Path, feed_name: str) -> None:
    feed = FEEDS[feed_name]
    assert len(feed.kinds) >= 40
    assert len({k.name for k in feed.kinds}) == len(feed.kinds), "kind names must be unique"
    paths = lake_paths(tmp_path / "data")
    land_corpus(paths, feed)

    built = dbt(
        paths, "build", "--select", *feed.select, "--indirect-selection", "cautious", check=False
    )
    found = outcomes(paths, feed)

    right, accepted, lost, wrong = 0, 0, 0, []
    for kind in feed.kinds:
        expected, got = Counter(kind.expected), found.get(kind.name, Counter())
        lost += max(0, sum(expected.values()) - sum(got.values()))
        if got == expected:
            right += sum(1 for o in kind.expected if o != "accepted")
            accepted += sum(1 for o in kind.expected if o == "accepted")
        else:
            wrong.append(f"{kind.name}: expected {dict(expected)}, got {dict(got)}")
    print(
        f"\n{feed.name}: kinds {len(feed.kinds)}, rows {sum(len(k.expected) for k in feed.kinds)},"
        f" quarantined with the right reason {right}, accepted as labelled {accepted},"
        f" wrong {len(wrong)}, lost {lost}, build failures {0 if built else 1}"
    )
    assert not wrong, "\n".join(wrong)
    assert lost == 0
    assert built, "dbt build failed on the corpus (input must never fail a build)"


def test_without_the_gunzip_plugin_gz_objects_are_quarantined_not_failed(tmp_path: Path) -> None:
    """A profile without the eventlake plugin (profiles.yml older than the example) still
    builds: every .gz object is one `unreadable_object` row, the other objects are read."""
    feed = FEEDS["traffic"]
    kinds = [k for k in feed.kinds if k.gz_name] + [k for k in feed.kinds if k.name == "valid"]
    feed = Feed(feed.name, feed.folder, feed.stream, feed.staging_model, feed.select, kinds)
    paths = lake_paths(tmp_path / "data")
    land_corpus(paths, feed)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    example = (ensure_profiles() / "profiles.yml.example").read_text()
    (profiles / "profiles.yml").write_text(
        example.replace("      plugins:\n        - module: orchestration.duckdb_plugin\n", "")
    )
    assert "module: orchestration.duckdb_plugin" not in (profiles / "profiles.yml").read_text()
    project = ensure_profiles()
    done = subprocess.run(
        [dbt_executable(), "--quiet", "build", "--select", *feed.select,
         "--indirect-selection", "cautious", "--project-dir", str(project),
         "--profiles-dir", str(profiles)],
        cwd=project, env={**os.environ, "EVENTLAKE_DATA_DIR": str(paths.data_dir)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    found = outcomes(paths, feed)
    for kind in kinds:
        expected = {"accepted": 1} if not kind.gz_name else {"unreadable_object": 1}
        assert dict(found[kind.name]) == expected, kind.name
