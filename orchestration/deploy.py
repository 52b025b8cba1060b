"""``eventlake deploy --dry-run --out DIR``: write the CloudFormation template and the ASL.

Relation names come from dbt's manifest for the Athena target: given with ``--manifest``, or
made by ``dbt parse --target athena`` into ``target/athena/`` with the schema names the stack
uses (``EVENTLAKE_ATHENA_SCHEMA`` = the database prefix, ``EVENTLAKE_ML_SCHEMA`` =
``<prefix>_ml``, ``EVENTLAKE_RAW_SCHEMA`` = ``<prefix>_raw``), so the SQL in the state machine
names the tables the deployed dbt builds.

Deploying is one ``aws cloudformation deploy`` of the written template (docs/state-machine.md);
this command does not call CloudFormation itself.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ingestion.settings import PROJECT_ROOT, LakePaths

TEMPLATE_FILE = "template.yaml"
ASL_FILE = "state-machine.asl.json"
ATHENA_MANIFEST = PROJECT_ROOT / "target" / "athena" / "manifest.json"
DEFAULT_PREFIX = "eventlake"


def athena_manifest(paths: LakePaths, database_prefix: str = DEFAULT_PREFIX) -> Path:
    """``dbt parse --target athena`` (offline: parsing opens no connection) into target/athena."""
    from orchestration.dbt_runner import run_dbt

    lake = f"s3://{database_prefix}-dry-run"
    run_dbt(
        ["parse", "--target-path", str(ATHENA_MANIFEST.parent)],
        paths,
        target="athena",
        quiet=True,
        extra_env={
            "EVENTLAKE_ATHENA_SCHEMA": database_prefix,
            "EVENTLAKE_ML_SCHEMA": f"{database_prefix}_ml",
            "EVENTLAKE_RAW_SCHEMA": f"{database_prefix}_raw",
            "EVENTLAKE_ATHENA_S3_STAGING_DIR": f"{lake}/athena-results/",
            "EVENTLAKE_ATHENA_S3_DATA_DIR": f"{lake}/warehouse/",
        },
    )
    return ATHENA_MANIFEST


def room_ids() -> list[str]:
    """The registry's rooms: the stack's default for the ML Map (a parameter)."""
    from ingestion.sensors import load_room_ids
    from orchestration.demo import ROOM_REGISTRY

    return load_room_ids(ROOM_REGISTRY)


def render_stack(manifest: Path, rooms: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state-machine definition, CloudFormation template) from the pipeline and the manifest."""
    # Imported here: every `eventlake` command builds the parser this module adds to, and these
    # bring numpy in (the ML feature SQL), which only deploy needs.
    from ml.config import RcfConfig
    from orchestration.asl import AwsRelations, render
    from orchestration.template import template

    definition = render(AwsRelations.from_manifest(manifest), RcfConfig.from_env()).definition
    return definition, template(definition, rooms)


class _Dumper(yaml.SafeDumper):
    """YAML without anchors/aliases: CloudFormation rejects them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _write(path: Path, text: str) -> None:
    """Whole file or nothing: written beside the target, then renamed over it."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)


def write_dry_run(out: Path, manifest: Path) -> list[Path]:
    definition, stack = render_stack(manifest, room_ids())
    out.mkdir(parents=True, exist_ok=True)
    written = [out / TEMPLATE_FILE, out / ASL_FILE]
    _write(written[0], yaml.dump(stack, Dumper=_Dumper, sort_keys=False, width=100))
    _write(written[1], json.dumps(definition, indent=2) + "\n")
    return written


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    deploy = sub.add_parser(
        "deploy",
        help="write the CloudFormation template and the state machine (ASL) for AWS",
        parents=[common],
    )
    deploy.add_argument(
        "--dry-run",
        action="store_true",
        required=True,
        help="write the files only (required: deploy them with `aws cloudformation deploy`)",
    )
    deploy.add_argument("--out", required=True, help="folder to write template.yaml and the ASL")
    deploy.add_argument(
        "--manifest",
        help="dbt manifest of the athena target (default: run dbt parse --target athena)",
    )
    deploy.add_argument(
        "--database-prefix",
        default=DEFAULT_PREFIX,
        help="Glue database prefix = the stack's DatabasePrefix (default eventlake)",
    )


def run_cli(args: argparse.Namespace, paths: LakePaths) -> None:
    manifest = (
        Path(args.manifest) if args.manifest else athena_manifest(paths, args.database_prefix)
    )
    for path in write_dry_run(Path(args.out), manifest):
        print(f"wrote {path}")
