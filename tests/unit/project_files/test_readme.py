"""The README stays true: generated references are current, the Quickstart is intact, documented commands exist."""

from __future__ import annotations

import re

from tests.support.readme_blocks import README, cli_reference, command_paths, configuration_reference, render

QUICKSTART_SERVE = "pip install uv && uv run --frozen --no-dev pyregistry serve"
QUICKSTART_TESTS = (
    "pip install uv && uv run --frozen ruff check . && uv run --frozen ruff format --check . "
    "&& uv run --frozen lint-imports && uv run --frozen mypy --strict packages/*/src "
    "&& uv run --frozen pytest -n auto --cov && uv run --frozen python -m tests.support.coverage_gate"
)


def test_generated_blocks_are_current() -> None:
    text = README.read_text()
    assert render(text) == text, "README is stale: run `uv run python -m tests.support.readme_blocks`"


def test_every_command_has_its_help_in_the_readme() -> None:
    text = README.read_text()
    for path in command_paths():
        assert f"#### `{' '.join(('pyregistry', *path))}`" in text
    assert cli_reference() in text
    assert configuration_reference() in text


def test_commands_used_in_examples_exist() -> None:
    known = {path[0] for path in command_paths() if path}
    used = set(re.findall(r"uv run pyregistry ([a-z][a-z-]+)", README.read_text()))
    assert used and used <= known, sorted(used - known)


def test_quickstart_commands_are_unchanged() -> None:
    text = README.read_text()
    assert f"```bash\n{QUICKSTART_SERVE}\n```" in text
    assert f"```bash\n{QUICKSTART_TESTS}\n```" in text


def test_ci_runs_the_readme_test_command() -> None:
    script = (README.parent / ".ci" / "run").read_text().splitlines()
    commands = [line for line in script if line.startswith("uv run --frozen ")]
    assert " && ".join(["pip install uv", *commands]) == QUICKSTART_TESTS
