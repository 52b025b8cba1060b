"""Every command the README and docs/ show exists: each is run with --help, and every flag the
docs give it must appear in that help. `make X` must be a Makefile target."""

from __future__ import annotations

import contextlib
import io
import re
from functools import cache
from pathlib import Path

import pytest

from orchestration.cli import build_parser, main

PROJECT = Path(__file__).resolve().parents[2]
PAGES = [PROJECT / "README.md", *sorted((PROJECT / "docs").rglob("*.md"))]
TOOLS = ("eventlake", "dbt", "make")
FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.S)
INLINE = re.compile(r"`([^`\n]+)`")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
ENV_PREFIX = re.compile(r"^(?:[A-Z_]+=\S+\s+)+")


def _commands() -> list[tuple[str, str]]:
    """(page, command line) for every command shown in a code block or inline code."""
    found: list[tuple[str, str]] = []
    for page in PAGES:
        text = page.read_text()
        spans: list[str] = []
        for block in FENCE.findall(text):
            lines: list[str] = []
            for line in block.splitlines():
                if line.startswith(" ") and lines:  # a usage line continued
                    lines[-1] += " " + line.strip()
                else:
                    lines.append(line)
            spans += lines
        spans += INLINE.findall(FENCE.sub("", text))
        for span in spans:
            command = ENV_PREFIX.sub("", span.split(" # ")[0].strip())
            if command.split(" ", 1)[0] in TOOLS and " " in command:
                found.append((page.relative_to(PROJECT).as_posix(), command))
    return found


COMMANDS = _commands()


def _subcommand(command: str) -> tuple[str, ...]:
    words = [w for w in command.split() if not w.startswith(("-", "[", "<", "{", "'", '"'))]
    tool = words[0]
    if tool == "dbt" and words[1] in ("source", "docs"):
        return tuple(words[:3])
    return tuple(words[:2])


@cache
def _eventlake_help(sub: str) -> str:
    """`eventlake <sub> --help`, and that of each of its own verbs when it has some
    (`eventlake devices add`): a documented flag may belong to any of them."""
    texts = [_help_of([sub])]
    for action in build_parser()._subparsers._group_actions:  # argparse keeps its tree private
        nested = action.choices[sub]._subparsers
        if nested is not None:
            verbs = [c for a in nested._group_actions for c in a.choices]
            texts += [_help_of([sub, verb]) for verb in verbs]
    return "\n".join(texts)


def _help_of(args: list[str]) -> str:
    # In this process (argparse prints the help and exits 0): a CLI start per command was the
    # slow part of this module.
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*args, "--help"])
    assert exited.value.code == 0, f"eventlake {' '.join(args)} --help exited {exited.value.code}"
    return printed.getvalue()


@cache
def _dbt_help(words: tuple[str, ...]) -> str:
    # dbt's own click command tree, in this process: what `dbt ... --help` prints, without a dbt
    # start-up per command.
    from click.testing import CliRunner
    from dbt.cli.main import cli

    done = CliRunner().invoke(cli, [*words, "--help"], prog_name="dbt")
    assert done.exit_code == 0, f"dbt {' '.join(words)} --help: {done.output[-500:]}"
    return done.output


@cache
def _make_targets() -> set[str]:
    makefile = (PROJECT / "Makefile").read_text()
    return set(re.findall(r"(?m)^([a-z][\w-]*):", makefile))


def test_the_docs_show_commands_of_every_tool() -> None:
    tools = {command.split()[0] for _, command in COMMANDS}
    assert tools == set(TOOLS)
    assert len(COMMANDS) > 30


@pytest.mark.parametrize(("page", "command"), COMMANDS, ids=[c for _, c in COMMANDS])
def test_command_exists_with_its_flags(page: str, command: str) -> None:
    words = _subcommand(command)
    if words[0] == "make":
        assert words[1] in _make_targets(), f"{page}: no Makefile target {words[1]!r}"
        return
    if words[0] == "dbt":
        if words[1] == "...":
            return  # "dbt ... --target athena": any dbt command
        usage = _dbt_help(words[1:])
    else:
        usage = _eventlake_help(words[1])
        alternative = command.split()[2:4]  # "eventlake publish | summary"
        if alternative[:1] == ["|"]:
            _eventlake_help(alternative[1])
    for flag in FLAG.findall(command):
        assert flag in usage, f"{page}: `{command}` uses {flag}, not in `{' '.join(words)} --help`"


def test_a_wrong_subcommand_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A command the CLI lacks is refused: exit 2 and one line."""
    with pytest.raises(SystemExit) as exited:
        main(["dashboard"])
    assert exited.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(PROJECT).as_posix() for p in PAGES])
def test_every_relative_link_points_at_a_file(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        if not target.startswith(("http://", "https://")):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
