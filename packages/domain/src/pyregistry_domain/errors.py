"""One hierarchy of domain errors; adapters map them to HTTP statuses and CLI messages."""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidDistribution",
    "InvalidFilename",
    "InvalidName",
    "InvalidToken",
    "InvalidVersion",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "Unauthenticated",
    "UpstreamUnavailable",
    "ValidationFailed",
]


class DomainError(Exception):
    """Base class of every error the domain and application raise on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    """Input broke a rule; the message says which."""


class InvalidName(ValidationFailed):
    """A tenant slug or project name is not acceptable."""


class InvalidVersion(ValidationFailed):
    """A version is not PEP 440."""


class InvalidFilename(ValidationFailed):
    """A distribution filename cannot be parsed."""


class InvalidDistribution(ValidationFailed):
    """An uploaded or stored archive is corrupt, unsafe or disagrees with its metadata."""


class InvalidToken(DomainError):
    """A presented API token is malformed, unknown, expired or revoked."""


class Unauthenticated(DomainError):
    """No usable credentials were presented."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class AlreadyExists(DomainError):
    """The thing to create exists already."""


class Conflict(DomainError):
    """The request conflicts with the current state."""


class PayloadTooLarge(DomainError):
    """A body or archive is larger than allowed."""


class ServiceUnavailable(DomainError):
    """A backing service (database, storage) cannot be used right now; retrying later may work."""


class UpstreamUnavailable(DomainError):
    """An upstream index could not be reached or answered badly."""
