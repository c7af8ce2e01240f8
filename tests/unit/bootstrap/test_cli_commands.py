"""The command table builds every command one way, and listing them loads no use case, adapter or wiring."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click
import pytest

from pyregistry_bootstrap import commands
from pyregistry_bootstrap.cli import COMMANDS, main

COMMANDS_DIR = Path(commands.__file__).parent
ALLOWED_AT_MODULE_LEVEL = ("pyregistry_bootstrap.commands.", "pyregistry_bootstrap.cli_identity", "pyregistry_domain.")
HEAVY = ("pyregistry_application", "pyregistry_infrastructure", "pyregistry_web")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_loads_under_its_name(name: str) -> None:
    command = main.get_command(click.Context(main), name)
    assert isinstance(command, click.Command)
    assert command.name == name


@pytest.mark.parametrize("module", sorted(path.name for path in COMMANDS_DIR.glob("*.py")))
def test_command_modules_import_only_common_helpers_and_the_domain_at_module_level(module: str) -> None:
    tree = ast.parse((COMMANDS_DIR / module).read_text(encoding="utf-8"))
    own = [
        node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pyregistry_")
    ]
    assert [name for name in own if not name.startswith(ALLOWED_AT_MODULE_LEVEL)] == []


def test_help_lists_every_command_without_loading_use_cases_or_adapters() -> None:
    probe = (
        "import sys\n"
        "from pyregistry_bootstrap.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('pyregistry_'))), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    for name in COMMANDS:
        assert f"  {name} " in result.stdout or f"  {name}\n" in result.stdout
    loaded = result.stderr.split()
    heavy = [
        m for m in loaded if m.startswith(("pyregistry_application", "pyregistry_infrastructure", "pyregistry_web"))
    ]
    assert heavy == []
    assert "pyregistry_bootstrap.wiring" not in loaded and "pyregistry_bootstrap.cli_wiring" not in loaded
