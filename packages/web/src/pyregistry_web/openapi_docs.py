"""OpenAPI descriptions shared by the JSON endpoints: error bodies and request bodies read by hand."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

__all__ = ["ErrorBody", "MintTokenOperation", "OsvErrorBody", "error_responses", "osv_error_responses"]


class ErrorBody(msgspec.Struct, frozen=True):
    """Every refusal outside the OSV API: the status repeated and a one-line reason."""

    message: str
    status: int


class OsvErrorBody(msgspec.Struct, frozen=True):
    """OSV-style error (``code`` 3 for invalid argument, 5 for not found)."""

    code: int
    message: str


_DESCRIPTIONS = {
    400: "Invalid request",
    401: "Missing or invalid token",
    403: "Token without access, or a source network outside api_allowed_cidrs",
    404: "Not found, or the feature is not enabled",
    413: "Request body too large",
    429: "Rate limited; Retry-After says when to try again",
    503: "A backing service is unavailable; Retry-After says when to try again",
}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """``{"message", "status"}`` responses for the given statuses."""
    return {
        status: ResponseSpec(data_container=ErrorBody, description=_DESCRIPTIONS[status], generate_examples=False)
        for status in statuses
    }


def osv_error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OSV ``{"code", "message"}`` responses for the given statuses."""
    return {
        status: ResponseSpec(data_container=OsvErrorBody, description=_DESCRIPTIONS[status], generate_examples=False)
        for status in statuses
    }


@dataclass
class MintTokenOperation(Operation):
    """The mint-token operation, whose handler reads its JSON body itself to word its own errors."""

    def __post_init__(self) -> None:
        token = Schema(type=OpenAPIType.STRING, description="The CI provider's OIDC identity token (a JWT)")
        body = Schema(type=OpenAPIType.OBJECT, required=["token"], properties={"token": token})
        self.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=body)}, required=True, description='{"token": ...}'
        )
