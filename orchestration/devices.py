"""`eventlake devices`: the room registry kept in the data folder, outside the repository.

The registry the models read (source ``device_registry.rooms``, macros/registry) is the seed
``seeds/rooms.csv`` (the demo's defaults) unioned with ``<data>/registry/rooms.csv``: for a room in
both, each value the file gives wins. This module reads and writes that file; users may also edit
it by hand (same header). Every write replaces the whole file atomically (written beside, then
renamed), so a reader never sees half a registry.
"""

from __future__ import annotations

import argparse
import csv
import io
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.raw_zone import atomic_write_bytes
from ingestion.settings import PROJECT_ROOT, LakePaths

SEED_FILE = PROJECT_ROOT / "seeds" / "rooms.csv"
# The file's header, in this order (macros/registry/device_registry.sql: registry_columns).
COLUMNS = ("room_id", "name", "location", "expected_interval_seconds", "retired_at", "updated_at")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_ROOM_ID_LENGTH = 16  # seeds: room_id varchar(16)
APPLY_HINT = (
    "applies from the next `eventlake build` (lines already quarantined as unknown_room or"
    " device_retired are re-checked by `eventlake build --full-refresh`)"
)


@dataclass(frozen=True)
class Room:
    """One row of the registry file ("" = not given)."""

    room_id: str
    name: str = ""
    location: str = ""
    expected_interval_seconds: str = ""
    retired_at: str = ""
    updated_at: str = ""

    def row(self) -> dict[str, str]:
        return {column: getattr(self, column) for column in COLUMNS}


def registry_file(paths: LakePaths) -> Path:
    return paths.data_dir / "registry" / "rooms.csv"


def read_registry(path: Path) -> dict[str, Room]:
    """The file's rooms by id (none when there is no file); a file without room_id is an error."""
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "room_id" not in reader.fieldnames:
            raise ValueError(
                f"{path} has no room_id column; its header must be {','.join(COLUMNS)}"
            )
        rooms: dict[str, Room] = {}
        for row in reader:
            room_id = (row.get("room_id") or "").strip()
            if room_id:
                values = {c: (row.get(c) or "").strip() for c in COLUMNS if c != "room_id"}
                rooms[room_id] = Room(room_id, **values)
    return rooms


def write_registry(path: Path, rooms: dict[str, Room]) -> None:
    """The whole file, sorted by room id, or nothing (write beside, then rename)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for room_id in sorted(rooms):
        writer.writerow(rooms[room_id].row())
    atomic_write_bytes(path, text.getvalue().encode(), staging_root=path.parent / ".staging")


def seed_room_ids(seed: Path = SEED_FILE) -> list[str]:
    with open(seed, newline="", encoding="utf-8") as handle:
        return [row["room_id"].strip() for row in csv.DictReader(handle) if row["room_id"].strip()]


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


def _room_id(text: str) -> str:
    value = text.strip()
    if not value or len(value) > MAX_ROOM_ID_LENGTH or "," in value or '"' in value:
        raise argparse.ArgumentTypeError(
            f"not a room id: {text!r} (1 to {MAX_ROOM_ID_LENGTH} characters, no comma or quote,"
            " as the sensors send it)"
        )
    return value


def _text(text: str) -> str:
    if any(ch in text for ch in "\r\n"):
        raise argparse.ArgumentTypeError(f"must be one line: {text!r}")
    return text


def _interval(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from exc
    if not 1 <= value <= 999_999_999:
        raise argparse.ArgumentTypeError(f"must be 1 to 999999999 seconds, got {value}")
    return value


def add_room(
    path: Path,
    room_id: str,
    *,
    name: str | None = None,
    location: str | None = None,
    interval_seconds: int | None = None,
    now: str | None = None,
) -> str:
    """Register (or re-activate, or update) a room; what was done, as one line."""
    rooms = read_registry(path)
    known = rooms.get(room_id)
    room = known or Room(room_id)
    changes: dict[str, Any] = {"retired_at": "", "updated_at": now or _now()}
    if name is not None:
        changes["name"] = name.strip()
    if location is not None:
        changes["location"] = location.strip()
    if interval_seconds is not None:
        changes["expected_interval_seconds"] = str(interval_seconds)
    rooms[room_id] = replace(room, **changes)
    write_registry(path, rooms)
    if known is None:
        verb = "registered" if room_id not in seed_room_ids() else "registered over its seed row"
    elif known.retired_at:
        verb = f"re-activated (was retired at {known.retired_at})"
    else:
        verb = "updated"
    return f"room {room_id} {verb} in {path}; {APPLY_HINT}"


def retire_room(path: Path, room_id: str, *, at: str | None = None, now: str | None = None) -> str:
    """Retire a registered room from ``at`` (default now); readings from then on are quarantined."""
    rooms = read_registry(path)
    known = rooms.get(room_id)
    if known is None and room_id not in seed_room_ids():
        raise ValueError(
            f"room {room_id} is not registered; `eventlake devices list` shows the registered rooms"
        )
    if known is not None and known.retired_at:
        raise ValueError(
            f"room {room_id} is already retired (at {known.retired_at}); "
            f"`eventlake devices add {room_id}` re-activates it"
        )
    stamp = now or _now()
    rooms[room_id] = replace(known or Room(room_id), retired_at=at or stamp, updated_at=stamp)
    write_registry(path, rooms)
    return (
        f"room {room_id} retired at {at or stamp} in {path}: its readings taken from then on are"
        f" quarantined as device_retired; {APPLY_HINT}"
    )


def list_rooms(path: Path) -> str:
    """The registered rooms (seed and file, the file's values first) as a table."""
    listed = read_registry(path)
    seeded = seed_room_ids()
    header = ("room_id", "name", "location", "interval_s", "status", "registered_in")
    lines = [header]
    for room_id in sorted(set(seeded) | set(listed)):
        room = listed.get(room_id, Room(room_id))
        origin = (
            "seed+file"
            if room_id in seeded and room_id in listed
            else "seed"
            if room_id in seeded
            else "file"
        )
        status = f"retired {room.retired_at}" if room.retired_at else "active"
        interval = room.expected_interval_seconds or "inferred"
        lines.append((room_id, room.name, room.location, interval, status, origin))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(r.rstrip() for r in rendered) + f"\n{len(lines) - 1} rooms ({path})"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    devices = sub.add_parser(
        "devices",
        help="the room registry in the data folder: add, list, retire",
        parents=[common],
    )
    verbs = devices.add_subparsers(dest="devices_verb", required=True, parser_class=type(devices))
    add = verbs.add_parser(
        "add", help="register a room (or update or re-activate it)", parents=[common]
    )
    add.add_argument("room_id", type=_room_id, help="the room id the sensor sends")
    add.add_argument("--name", type=_text, help="a free-text name")
    add.add_argument("--location", type=_text, help="a free-text location")
    add.add_argument(
        "--interval-seconds",
        type=_interval,
        help="the sensor's cadence (default: inferred from the readings, median interval)",
    )
    verbs.add_parser("list", help="list the registered rooms", parents=[common])
    retire = verbs.add_parser(
        "retire", help="retire a room: its later readings are quarantined", parents=[common]
    )
    retire.add_argument("room_id", type=_room_id)
    retire.add_argument(
        "--at", type=_utc_time, help="when it was retired, ISO, UTC if no offset (default: now)"
    )


def run_cli(args: argparse.Namespace, paths: LakePaths) -> None:
    path = registry_file(paths)
    if args.devices_verb == "add":
        print(
            add_room(
                path,
                args.room_id,
                name=args.name,
                location=args.location,
                interval_seconds=args.interval_seconds,
            )
        )
    elif args.devices_verb == "retire":
        print(retire_room(path, args.room_id, at=args.at))
    else:
        print(list_rooms(path))
