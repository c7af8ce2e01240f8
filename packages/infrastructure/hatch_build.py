"""Hatch build hook: ship the top-level ``supplied/`` directory (our own YARA rules) in the sdist and the wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class SuppliedFilesHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds ``supplied/`` from the repository root (or from an unpacked sdist) to the build."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Force-include the directory under the right name for the target."""
        root = Path(self.root)
        for candidate in (root / "supplied", root.parent.parent / "supplied"):
            if candidate.is_dir():
                target = "pyregistry_infrastructure/supplied" if self.target_name == "wheel" else "supplied"
                build_data["force_include"][str(candidate)] = target
                return
        raise FileNotFoundError("supplied/ (the project's own YARA rules) was not found next to the package")
