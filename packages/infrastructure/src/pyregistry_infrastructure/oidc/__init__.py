"""OIDC identity-token verification for trusted publishing."""
