"""Port for checking PEP 740 attestations against the Sigstore trust root (an adapter does the cryptography)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pyregistry_domain.provenance import PublisherIdentity

__all__ = ["AttestationVerifier"]


class AttestationVerifier(Protocol):
    """Verifies attestations offline: signature, certificate chain, transparency log entry, subject, identity."""

    def verify(
        self,
        attestations: Sequence[Mapping[str, Any]],
        filename: str,
        sha256: str,
        expected: PublisherIdentity | None,
    ) -> PublisherIdentity:
        """The identity every attestation was signed by.

        Each attestation must sign exactly ``filename`` with ``sha256``; with ``expected`` the certificate must
        have been issued to that publisher, without it all attestations must share one GitHub or GitLab identity.
        Raises :class:`~pyregistry_domain.errors.ValidationFailed` naming the attestation and the failed check.
        """
        ...
