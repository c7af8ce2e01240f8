"""Project status markers (PEP 792): what a project's status allows, and the known-malware advisory rule."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pyregistry_domain.errors import Forbidden, ValidationFailed

__all__ = [
    "ACTIVE",
    "MALWARE_ID_PREFIX",
    "MAX_STATUS_REASON_LENGTH",
    "ProjectStatus",
    "ProjectStatusKind",
    "is_malware_advisory",
]

MAX_STATUS_REASON_LENGTH = 500
MALWARE_ID_PREFIX = "MAL-"


class ProjectStatusKind(StrEnum):
    """The four PEP 792 statuses."""

    ACTIVE = "active"
    ARCHIVED = "archived"
    QUARANTINED = "quarantined"
    DEPRECATED = "deprecated"


@dataclass(frozen=True, slots=True)
class ProjectStatus:
    """A project's status with an optional one-line reason; a project with no recorded status is active."""

    kind: ProjectStatusKind = ProjectStatusKind.ACTIVE
    reason: str | None = None

    @classmethod
    def parse(cls, status: str, reason: str | None = None) -> ProjectStatus:
        """Validate user input: a known status and a reason of at most 500 characters, folded onto one line."""
        try:
            kind = ProjectStatusKind(status.strip().lower())
        except ValueError:
            allowed = ", ".join(kind.value for kind in ProjectStatusKind)
            raise ValidationFailed(f"unknown project status {status!r}: use one of {allowed}") from None
        text = " ".join((reason or "").split())
        if len(text) > MAX_STATUS_REASON_LENGTH:
            raise ValidationFailed(f"the status reason is longer than {MAX_STATUS_REASON_LENGTH} characters")
        return cls(kind=kind, reason=text or None)

    @property
    def is_active(self) -> bool:
        """The default status: uploads accepted, files offered, nothing for installers to warn about."""
        return self.kind is ProjectStatusKind.ACTIVE

    @property
    def accepts_uploads(self) -> bool:
        """Archived and quarantined projects take no new distributions."""
        return self.kind not in (ProjectStatusKind.ARCHIVED, ProjectStatusKind.QUARANTINED)

    @property
    def offers_files(self) -> bool:
        """A quarantined project offers no distributions for download."""
        return self.kind is not ProjectStatusKind.QUARANTINED

    def _because(self) -> str:
        return f": {self.reason}" if self.reason else ""

    def check_upload(self, project: str) -> None:
        """Raise :class:`ValidationFailed` (HTTP 400, as PyPI answers) when the project takes no uploads."""
        if not self.accepts_uploads:
            raise ValidationFailed(
                f"project {project!r} is {self.kind.value} and does not accept uploads{self._because()}"
            )

    def check_download(self, project: str) -> None:
        """Raise :class:`Forbidden` when the project offers no files."""
        if not self.offers_files:
            raise Forbidden(f"project {project!r} is quarantined and offers no files{self._because()}")


ACTIVE = ProjectStatus()


def is_malware_advisory(advisory_id: str) -> bool:
    """OSV ids of the malicious-package kind (the OpenSSF malicious-packages data set) start with ``MAL-``."""
    return advisory_id.upper().startswith(MALWARE_ID_PREFIX)
