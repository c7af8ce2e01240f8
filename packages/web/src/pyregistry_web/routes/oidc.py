"""Trusted publishing endpoints: the audience CI must request, and the identity-token exchange."""

from __future__ import annotations

import anyio.to_thread
import msgspec
from litestar import get, post
from litestar.datastructures import State

from pyregistry_application.client_json import decode_client_json
from pyregistry_application.publishing import MintedToken, TrustedPublishing
from pyregistry_application.services import RegistryServices
from pyregistry_domain.errors import NotFound
from pyregistry_web.credentials import client_ip
from pyregistry_web.http_types import AnyRequest
from pyregistry_web.openapi_docs import MintTokenOperation, error_responses

__all__ = ["oidc_audience", "oidc_mint_token"]

MAX_MINT_BODY_BYTES = 64 * 1024


class Audience(msgspec.Struct, frozen=True):
    """The ``aud`` claim CI identity tokens must carry."""

    audience: str


class MintRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """``{"token": "<jwt>"}``."""

    token: str


def _publishing(state: State) -> TrustedPublishing:
    services: RegistryServices = state.services
    if services.publishing is None:
        raise NotFound("trusted publishing is not enabled on this server")
    return services.publishing


@get("/_/oidc/audience", name="oidc-audience", sync_to_thread=False, responses=error_responses(403, 404, 429))
def oidc_audience(state: State) -> Audience:
    """``{"audience": ...}`` for ``id-token`` requests in CI."""
    return Audience(audience=_publishing(state).audience())


@post(
    "/_/oidc/mint-token",
    name="oidc-mint-token",
    status_code=200,
    request_max_body_size=MAX_MINT_BODY_BYTES,
    operation_class=MintTokenOperation,
    responses=error_responses(400, 401, 403, 404, 413, 429, 503),
)
async def oidc_mint_token(request: AnyRequest, state: State) -> MintedToken:
    """Exchange a CI identity token for a 15-minute publish token of the matching publisher's project."""
    publishing = _publishing(state)
    mint = decode_client_json(
        await request.body(),
        MintRequest,
        what="the body",
        invalid='the body must be JSON {"token": "<identity token>"}',
        max_bytes=MAX_MINT_BODY_BYTES,
    )
    return await anyio.to_thread.run_sync(lambda: publishing.mint(mint.token, source_ip=client_ip(request)))
