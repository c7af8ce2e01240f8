"""Publisher identities proven by PEP 740 attestations: who signed a distribution, as one comparable value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["GITHUB_ACTIONS_ISSUER", "GITLAB_COM_ISSUER", "PublisherIdentity"]

GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_COM_ISSUER = "https://gitlab.com"


@dataclass(frozen=True, slots=True)
class PublisherIdentity:
    """The CI workflow a Sigstore certificate was issued to.

    ``kind`` is ``GitHub`` or ``GitLab`` (PEP 740 publisher kinds), ``issuer`` the OIDC issuer URL, ``repository``
    the ``owner/name`` (GitHub) or ``namespace/project`` path (GitLab) and ``workflow`` the workflow file name
    (GitHub) or CI config path (GitLab).
    """

    kind: str
    issuer: str
    repository: str
    workflow: str

    @property
    def identity(self) -> str:
        """Comparable identity, e.g. ``github:acme/tools/release.yml`` (repository case-folded on GitHub)."""
        repository = self.repository.lower() if self.kind == "GitHub" else self.repository
        host = "" if self.issuer in (GITHUB_ACTIONS_ISSUER, GITLAB_COM_ISSUER) else f"@{self.issuer}"
        return f"{self.kind.lower()}{host}:{repository}/{self.workflow}"

    def descriptor(self) -> dict[str, str]:
        """The PEP 740 ``publisher`` object of this identity."""
        if self.kind == "GitLab":
            return {"kind": "GitLab", "repository": self.repository, "workflow_filepath": self.workflow}
        return {"kind": self.kind, "repository": self.repository, "workflow": self.workflow}

    @classmethod
    def from_descriptor(cls, described: Mapping[str, object]) -> PublisherIdentity | None:
        """The identity a PEP 740 ``publisher`` object (or a minted token's descriptor) names; ``None`` for kinds
        that cannot be checked against a certificate here (Google, ActiveState, CircleCI) or a malformed object."""
        kind = described.get("kind")
        repository = described.get("repository")
        claims = described.get("claims")
        issuer = claims.get("iss") if isinstance(claims, Mapping) else None
        if kind == "GitHub":
            workflow = described.get("workflow")
            issuer = issuer if isinstance(issuer, str) else GITHUB_ACTIONS_ISSUER
        elif kind == "GitLab":
            workflow = described.get("workflow_filepath", described.get("workflow"))
            issuer = issuer if isinstance(issuer, str) else GITLAB_COM_ISSUER
        else:
            return None
        if not isinstance(repository, str) or not isinstance(workflow, str) or not repository or not workflow:
            return None
        return cls(kind=kind, issuer=issuer, repository=repository, workflow=workflow)
