"""The partials that show mirroring, trusted publishing and security on the admin pages, per available feature."""

from __future__ import annotations

from pyregistry_web.admin.extensions import UiExtensions

__all__ = ["FEATURE_PARTIALS", "feature_extensions"]

FEATURE_PARTIALS: dict[str, dict[str, list[str]]] = {
    "mirroring": {
        "dashboard_panels": ["admin/ext/mirror_dashboard.html.j2"],
        "tenant_mirroring": ["admin/ext/mirror_tenant.html.j2"],
        "project_banners": ["admin/ext/mirror_project.html.j2"],
        "file_actions": [
            "admin/ext/mirror_quarantine.html.j2",
            "admin/ext/policy_hold.html.j2",
            "admin/ext/provenance_held_file.html.j2",
        ],
        "release_actions": ["admin/ext/provenance_held_release.html.j2"],
    },
    "security": {
        "project_sections": ["admin/ext/vulnerabilities.html.j2"],
        "release_actions": ["admin/ext/release_advisories.html.j2"],
        "file_actions": ["admin/ext/wheel_scan_link.html.j2"],
    },
    "publishing": {
        "project_sections": ["admin/ext/publishers.html.j2"],
    },
}


def feature_extensions(*, mirroring: bool, publishing: bool, security: bool) -> UiExtensions:
    """Slot partials for the features this process has wired (security first in shared slots)."""
    enabled = {"mirroring": mirroring, "security": security, "publishing": publishing}
    partials: dict[str, list[str]] = {}
    for feature, slots in FEATURE_PARTIALS.items():
        if not enabled[feature]:
            continue
        for slot, names in slots.items():
            partials.setdefault(slot, []).extend(names)
    return UiExtensions(partials=partials)
