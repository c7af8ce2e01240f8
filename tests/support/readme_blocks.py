"""The README's generated blocks: the configuration reference (from the settings) and the CLI reference (from --help).

``uv run python -m tests.support.readme_blocks`` rewrites them in README.md;
``tests/unit/project_files/test_readme.py`` fails when they are stale, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click
import msgspec
from click.testing import CliRunner

from pyregistry_bootstrap.cli import main
from pyregistry_infrastructure.config import ENVIRONMENT_KEYS
from pyregistry_infrastructure.settings import Settings

__all__ = ["README", "cli_reference", "command_paths", "configuration_reference", "render", "replace_block"]

README = Path(__file__).resolve().parents[2] / "README.md"
HELP_WIDTH = 100
_GENERATED_DEFAULTS = {
    "superadmin_password": "generated on first start",
    "cookie_secret": "generated on first start",
}


def _leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, child in value.items():
        if isinstance(child, dict) and key != "options":
            rows.extend(_leaves(child, f"{prefix}{key}."))
        else:
            rows.append((prefix + key, child))
    return rows


def _variables_by_key() -> dict[str, list[str]]:
    by_key: dict[str, list[str]] = {}
    for name, (dotted, _kind) in ENVIRONMENT_KEYS.items():
        by_key.setdefault(dotted, []).append(name)
    return by_key


def _default_text(key: str, value: Any) -> str:
    if key in _GENERATED_DEFAULTS:
        return _GENERATED_DEFAULTS[key]
    if value is None:
        return "unset"
    return f"`{msgspec.json.encode(value).decode()}`"


def configuration_reference() -> str:
    """A table of every setting with its default and environment variables, in declaration order."""
    variables = _variables_by_key()
    lines = ["| Key | Default | Environment |", "| --- | --- | --- |"]
    for key, value in _leaves(msgspec.to_builtins(Settings())):
        names = list(variables.get(key, []))
        if key == "artifact_storage.opendal.options":
            names += [name for dotted, found in variables.items() if dotted.startswith(key + ".") for name in found]
        env = ", ".join(f"`{name}`" for name in names) or "-"
        lines.append(f"| `{key}` | {_default_text(key, value)} | {env} |")
    return "\n".join(lines)


def command_paths(group: click.Group | None = None, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand, as argument paths (``()`` is the top level)."""
    group = group or main
    paths = [prefix]
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, (*prefix, name)))
        elif command is not None:
            paths.append((*prefix, name))
    return paths


def help_text(path: tuple[str, ...]) -> str:
    """``pyregistry PATH --help`` as the real CLI prints it at a fixed width."""
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="pyregistry", terminal_width=HELP_WIDTH)
    if result.exit_code != 0:
        raise RuntimeError(f"pyregistry {' '.join(path)} --help failed: {result.output}")
    return result.output.rstrip()


def cli_reference() -> str:
    """The --help of every command, one fenced block each."""
    sections = []
    for path in command_paths():
        title = " ".join(("pyregistry", *path))
        sections.append(f"#### `{title}`\n\n```text\n{help_text(path)}\n```")
    return "\n\n".join(sections)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with the block called ``name`` replaced by ``content``."""
    begin, end = _markers(name)
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README has no block {name!r}")
    return pattern.sub(lambda _match: f"{begin}\n{content}\n{end}", text)


def render(text: str) -> str:
    """The README text with every generated block brought up to date."""
    text = replace_block(text, "configuration-reference", configuration_reference())
    return replace_block(text, "cli-reference", cli_reference())


if __name__ == "__main__":
    current = README.read_text()
    updated = render(current)
    README.write_text(updated)
    sys.stdout.write("README.md " + ("updated\n" if updated != current else "already current\n"))
