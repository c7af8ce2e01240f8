"""The feature partials bootstrap hands to the admin UI: only for wired features, only into known slots."""

from __future__ import annotations

import jinja2

from pyregistry_web.admin.extensions import SLOTS
from pyregistry_web.admin.features import FEATURE_PARTIALS, feature_extensions


def test_every_feature_partial_targets_a_known_slot_and_exists() -> None:
    loader = jinja2.PackageLoader("pyregistry_web", "templates")
    templates = jinja2.Environment(loader=loader, autoescape=True)
    for slots in FEATURE_PARTIALS.values():
        for slot, names in slots.items():
            assert slot in SLOTS
            for name in names:
                source, _, _ = loader.get_source(templates, name)
                assert "{%" in source


def test_only_wired_features_fill_slots() -> None:
    nothing = feature_extensions(mirroring=False, publishing=False, security=False)
    assert all(nothing.for_slot(slot) == [] for slot in SLOTS)
    publishing = feature_extensions(mirroring=False, publishing=True, security=False)
    assert publishing.for_slot("project_sections") == ["admin/ext/publishers.html.j2"]
    assert publishing.for_slot("tenant_mirroring") == [] and publishing.for_slot("file_actions") == []
    everything = feature_extensions(mirroring=True, publishing=True, security=True)
    assert everything.for_slot("project_sections") == [
        "admin/ext/vulnerabilities.html.j2",
        "admin/ext/publishers.html.j2",
    ]
    assert everything.for_slot("dashboard_panels") == ["admin/ext/mirror_dashboard.html.j2"]
