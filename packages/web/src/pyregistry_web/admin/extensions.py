"""Extension points: other features add partial templates to named slots of the admin pages."""

from __future__ import annotations

from pathlib import Path

import msgspec

__all__ = ["SLOTS", "UiExtensions"]

SLOTS = (
    "dashboard_panels",  # extra cards on the dashboard (context: dashboard, user, tenant_panels)
    "tenant_nav",  # extra links in a tenant's sub-navigation (context: tenant)
    "tenant_mirroring",  # inside the packages page's mirroring card (context: tenant, panels)
    "project_banners",  # below a project's title, e.g. the mirror cache state (context: detail, panels)
    "project_actions",  # extra buttons on a project page (context: detail, panels)
    "project_sections",  # extra sections below the releases, e.g. a vulnerability summary (context: detail, panels)
    "release_actions",  # extra buttons per release (context: detail, panels, view)
    "file_actions",  # extra buttons per file, e.g. a wheel scan link (context: detail, panels, view, file)
)


class UiExtensions(msgspec.Struct, frozen=True, kw_only=True):
    """Partial templates per slot and extra template directories searched after the built-in ones.

    Pass an instance as ``extra_state={"ui_extensions": ...}`` to ``create_app``.
    """

    partials: dict[str, list[str]] = msgspec.field(default_factory=dict)
    template_dirs: list[Path] = msgspec.field(default_factory=list)

    def for_slot(self, slot: str) -> list[str]:
        """Template names registered for ``slot``."""
        return list(self.partials.get(slot, []))
