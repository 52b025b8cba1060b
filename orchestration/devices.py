"""`eventlake devices`: the device registry kept in the data folder, outside the repository.

Two kinds of device, one CSV each in ``<data>/registry/`` (``--kind``, default ``room``):

- ``room``: a temperature room, ``rooms.csv``, seed ``seeds/rooms.csv``;
- ``detector``: a traffic detector, i.e. one measurement location of the traffic feed (one lane
  of one road at one place), identified by its ``location_id`` (the feed's ``unieke_id``):
  ``traffic_locations.csv``, seed ``seeds/traffic_locations.csv``.

The registry the models read (sources ``device_registry.*_file``, macros/registry) is each kind's
seed (the demo's defaults) unioned with its file: for a device in both, each value the file gives
wins. This module reads and writes those files; users may also edit them by hand (same header).
Every write replaces the whole file atomically (written beside, then renamed), so a reader never
sees half a registry.
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from ingestion.raw_zone import atomic_write_bytes
from ingestion.settings import PROJECT_ROOT, LakePaths

SEEDS = PROJECT_ROOT / "seeds"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_ROOM_ID_LENGTH = 16  # seeds: room_id varchar(16)
MAX_LOCATION_ID = 999_999_999_999_999  # 15 digits (macros/registry: registry_whole_number)
# The columns every kind's file ends with (macros/registry/device_registry.sql: registry_columns).
COMMON_COLUMNS = ("expected_interval_seconds", "retired_at", "updated_at")

Row = dict[str, str]  # one row of a registry file, every column present ("" = not given)


def _room_id(text: str) -> str:
    value = text.strip()
    if not value or len(value) > MAX_ROOM_ID_LENGTH or "," in value or '"' in value:
        raise argparse.ArgumentTypeError(
            f"not a room id: {text!r} (1 to {MAX_ROOM_ID_LENGTH} characters, no comma or quote,"
            " as the sensors send it)"
        )
    return value


def _location_id(text: str) -> str:
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_LOCATION_ID:
        raise argparse.ArgumentTypeError(
            f"not a detector's location id: {text!r} (a whole number from 1 to {MAX_LOCATION_ID},"
            " the feed's unieke_id)"
        )
    return str(int(value))


@dataclass(frozen=True)
class Kind:
    """One kind of device: its CLI name, its registry file and seed, its columns (id first)."""

    name: str  # --kind
    table: str  # the file's and the seed's name, the source's meta registry_table
    columns: tuple[str, ...]
    parse_id: Callable[[str], str]
    list_columns: tuple[str, ...]  # the file's columns `devices list` shows after the id
    quarantine: str  # the reason a device in neither the seed nor the file gets

    @property
    def id_column(self) -> str:
        return self.columns[0]

    @property
    def seed(self) -> Path:
        return SEEDS / f"{self.table}.csv"

    def empty(self, device_id: str) -> Row:
        return {column: device_id if column == self.id_column else "" for column in self.columns}


ROOM = Kind(
    "room",
    "rooms",
    ("room_id", "name", "location", *COMMON_COLUMNS),
    _room_id,
    ("name", "location"),
    "unknown_room",
)
DETECTOR = Kind(
    "detector",
    "traffic_locations",
    (
        "location_id",
        "segment_id",
        "road",
        "direction",
        "lane",
        "latitude",
        "longitude",
        *COMMON_COLUMNS,
    ),
    _location_id,
    ("segment_id", "road", "direction", "lane"),
    "unknown_location",
)
KINDS = {kind.name: kind for kind in (ROOM, DETECTOR)}
# The options of `devices add` that belong to one kind only (dest -> kind name).
KIND_OPTIONS = {
    "name": "room",
    "location": "room",
    "segment_id": "detector",
    "road": "detector",
    "direction": "detector",
    "lane": "detector",
    "latitude": "detector",
    "longitude": "detector",
}


def apply_hint(kind: Kind) -> str:
    return (
        "applies from the next `eventlake run` or `eventlake build` (lines already quarantined"
        f" as {kind.quarantine} or device_retired are re-checked by"
        " `eventlake build --full-refresh`)"
    )


def registry_file(paths: LakePaths, kind: Kind = ROOM) -> Path:
    return paths.data_dir / "registry" / f"{kind.table}.csv"


def read_registry(path: Path, kind: Kind = ROOM) -> dict[str, Row]:
    """The file's devices by id (none when there is no file); a file without the id is an error."""
    if not path.exists():
        return {}
    # utf-8-sig: spreadsheet programs save "CSV UTF-8" with a byte-order mark before the header.
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _registry_rows(path, csv.DictReader(handle), kind)
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path} is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8 and try again"
        ) from exc


def _registry_rows(path: Path, reader: csv.DictReader[str], kind: Kind) -> dict[str, Row]:
    if reader.fieldnames is None or kind.id_column not in reader.fieldnames:
        raise ValueError(
            f"{path} has no {kind.id_column} column; its header must be {','.join(kind.columns)}"
        )
    rows: dict[str, Row] = {}
    for row in reader:
        device_id = (row.get(kind.id_column) or "").strip()
        if device_id:
            rows[device_id] = {c: (row.get(c) or "").strip() for c in kind.columns}
            rows[device_id][kind.id_column] = device_id
    return rows


def write_registry(path: Path, rows: dict[str, Row], kind: Kind = ROOM) -> None:
    """The whole file, sorted by id, or nothing (write beside, then rename)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=kind.columns, lineterminator="\n")
    writer.writeheader()
    # ids of detectors are numbers: sort them as numbers
    order = (lambda i: (len(i), i)) if kind is DETECTOR else (lambda i: ("", i))
    for device_id in sorted(rows, key=order):
        writer.writerow(rows[device_id])
    atomic_write_bytes(path, text.getvalue().encode(), staging_root=path.parent / ".staging")


@cache
def _seed_rows(kind: Kind) -> dict[str, Row]:
    with open(kind.seed, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row[kind.id_column].strip()]
    return {row[kind.id_column].strip(): row for row in rows}


def seed_ids(kind: Kind = ROOM) -> list[str]:
    return list(_seed_rows(kind))


@cache
def segment_ids() -> frozenset[str]:
    """The road segments a detector may belong to (seeds/traffic_segments.csv)."""
    with open(SEEDS / "traffic_segments.csv", newline="", encoding="utf-8") as handle:
        return frozenset(row["segment_id"].strip() for row in csv.DictReader(handle))


def _now() -> str:
    return datetime.now(UTC).strftime(TIME_FORMAT)


def _utc_time(text: str) -> str:
    """An ISO date or date-time (naive = UTC) as the file's 'YYYY-MM-DD HH:MM:SS' UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not an ISO date/time: {text!r} (e.g. 2026-03-01 or '2026-03-01 12:00:00')"
        ) from exc
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime(TIME_FORMAT)


def _text(text: str) -> str:
    if any(ch in text for ch in "\r\n"):
        raise argparse.ArgumentTypeError(f"must be one line: {text!r}")
    return text


def _whole(text: str, low: int, high: int, unit: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number of {unit}: {text!r}") from exc
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be {low} to {high} {unit}, got {value}")
    return value


def _interval(text: str) -> int:
    return _whole(text, 1, 999_999_999, "seconds")


def _lane(text: str) -> int:
    return _whole(text, 1, 99, "lanes")


def _degrees(limit: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        try:
            value = float(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not a number of degrees: {text!r}") from exc
        if not -limit <= value <= limit:  # also rejects nan
            raise argparse.ArgumentTypeError(f"must be -{limit} to {limit} degrees, got {text}")
        return f"{value:.5f}"  # the models' decimal(8,5)

    return parse


def _segment(text: str) -> str:
    value = text.strip()
    if value not in segment_ids():
        raise argparse.ArgumentTypeError(
            f"unknown road segment: {text!r} (a segment_id of seeds/traffic_segments.csv,"
            " e.g. E40-01-1)"
        )
    return value


def add_device(
    path: Path,
    kind: Kind,
    device_id: str,
    values: dict[str, str] | None = None,
    *,
    now: str | None = None,
) -> str:
    """Register (or re-activate, or update) a device; what was done, as one line.

    ``values``: the file's columns to set (stripped text). A detector outside the seed needs a
    segment: without one the models could not place it (they would not register it).
    """
    rows = read_registry(path, kind)
    known = rows.get(device_id)
    seeded = device_id in _seed_rows(kind)
    given = {column: value.strip() for column, value in (values or {}).items()}
    placed = given.get("segment_id") or (known or {}).get("segment_id")
    if kind is DETECTOR and not seeded and not placed:
        raise ValueError(
            f"detector {device_id} is new: give its road segment with --segment"
            " (a segment_id of seeds/traffic_segments.csv)"
        )
    row = {**(known or kind.empty(device_id)), **given}
    row.update(retired_at="", updated_at=now or _now())
    rows[device_id] = row
    write_registry(path, rows, kind)
    if known is None:
        verb = "registered over its seed row" if seeded else "registered"
    elif known["retired_at"]:
        verb = f"re-activated (was retired at {known['retired_at']})"
    else:
        verb = "updated"
    return f"{kind.name} {device_id} {verb} in {path}; {apply_hint(kind)}"


def retire_device(
    path: Path, kind: Kind, device_id: str, *, at: str | None = None, now: str | None = None
) -> str:
    """Retire a registered device from ``at`` (default now): its later data is quarantined."""
    rows = read_registry(path, kind)
    known = rows.get(device_id)
    if known is None and device_id not in _seed_rows(kind):
        raise ValueError(
            f"{kind.name} {device_id} is not registered; `eventlake devices list --kind"
            f" {kind.name}` shows the registered ones"
        )
    if known is not None and known["retired_at"]:
        raise ValueError(
            f"{kind.name} {device_id} is already retired (at {known['retired_at']}); "
            f"`eventlake devices add {device_id} --kind {kind.name}` re-activates it"
        )
    stamp = now or _now()
    rows[device_id] = {
        **(known or kind.empty(device_id)),
        "retired_at": at or stamp,
        "updated_at": stamp,
    }
    write_registry(path, rows, kind)
    return (
        f"{kind.name} {device_id} retired at {at or stamp} in {path}: its data taken from then on"
        f" is quarantined as device_retired; {apply_hint(kind)}"
    )


def list_devices(path: Path, kind: Kind = ROOM) -> str:
    """The registered devices (seed and file, the file's values first) as a table."""
    listed = read_registry(path, kind)
    seeded = _seed_rows(kind)
    header = (kind.id_column, *kind.list_columns, "interval_s", "status", "registered_in")
    lines = [header]
    ids = set(seeded) | set(listed)
    order = (lambda i: (len(i), i)) if kind is DETECTOR else (lambda i: ("", i))
    for device_id in sorted(ids, key=order):
        row = listed.get(device_id, kind.empty(device_id))
        seed_row = seeded.get(device_id, {})
        origin = (
            "seed+file"
            if device_id in seeded and device_id in listed
            else "seed"
            if device_id in seeded
            else "file"
        )
        shown = [row.get(c) or (seed_row.get(c) or "").strip() for c in kind.list_columns]
        status = f"retired {row['retired_at']}" if row["retired_at"] else "active"
        # rooms without a cadence get one inferred from their readings; detectors have none
        interval = row["expected_interval_seconds"] or ("inferred" if kind is ROOM else "")
        lines.append((device_id, *shown, interval, status, origin))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in lines]
    noun = "rooms" if kind is ROOM else "detectors"
    return "\n".join(r.rstrip() for r in rendered) + f"\n{len(lines) - 1} {noun} ({path})"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    devices = sub.add_parser(
        "devices",
        help="the device registry in the data folder (rooms, traffic detectors): add, list, retire",
        parents=[common],
    )
    verbs = devices.add_subparsers(dest="devices_verb", required=True, parser_class=type(devices))
    kind = argparse.ArgumentParser(add_help=False)
    kind.add_argument(
        "--kind",
        choices=sorted(KINDS),
        default=ROOM.name,
        help="room (a temperature room, default) or detector (a traffic measurement location)",
    )
    add = verbs.add_parser(
        "add", help="register a device (or update or re-activate it)", parents=[common, kind]
    )
    add.add_argument(
        "device_id", help="the room id the sensor sends, or the detector's location id"
    )
    rooms = add.add_argument_group("rooms")
    rooms.add_argument("--name", type=_text, help="a free-text name")
    rooms.add_argument("--location", type=_text, help="a free-text location")
    detectors = add.add_argument_group("detectors (--kind detector)")
    detectors.add_argument(
        "--segment",
        dest="segment_id",
        type=_segment,
        help="the road segment (seeds/traffic_segments.csv); required for a new detector",
    )
    detectors.add_argument("--road", type=_text, help="road number (default: the segment's)")
    detectors.add_argument(
        "--direction", type=_text, help="direction of travel (default: the segment's)"
    )
    detectors.add_argument("--lane", type=_lane, help="lane number within the segment (1-99)")
    detectors.add_argument("--latitude", type=_degrees(90), help="WGS84 degrees")
    detectors.add_argument("--longitude", type=_degrees(180), help="WGS84 degrees")
    add.add_argument(
        "--interval-seconds",
        type=_interval,
        help="the device's cadence (rooms: default inferred from the readings, median interval)",
    )
    add.set_defaults(devices_usage=add.error)
    verbs.add_parser("list", help="list the registered devices", parents=[common, kind])
    retire = verbs.add_parser(
        "retire",
        help="retire a device: its later readings or measurements are quarantined",
        parents=[common, kind],
    )
    retire.add_argument("device_id")
    retire.add_argument(
        "--at", type=_utc_time, help="when it was retired, ISO, UTC if no offset (default: now)"
    )
    retire.set_defaults(devices_usage=retire.error)


def run_cli(args: argparse.Namespace, paths: LakePaths) -> None:
    kind = KINDS[args.kind]
    path = registry_file(paths, kind)
    if args.devices_verb == "list":
        print(list_devices(path, kind))
        return
    try:
        device_id = kind.parse_id(args.device_id)
    except argparse.ArgumentTypeError as exc:
        args.devices_usage(str(exc))
    if args.devices_verb == "retire":
        print(retire_device(path, kind, device_id, at=args.at))
        return
    values: dict[str, str] = {}
    for option, owner in KIND_OPTIONS.items():
        value = getattr(args, option)
        if value is None:
            continue
        if owner != kind.name:
            args.devices_usage(f"--{option.removesuffix('_id')} is for --kind {owner}")
        values[option] = str(value)
    if args.interval_seconds is not None:
        values["expected_interval_seconds"] = str(args.interval_seconds)
    print(add_device(path, kind, device_id, values))
