-- A trusted publisher records the OIDC issuer whose tokens it trusts: the same namespace/project path on another
-- GitLab instance (or GitHub Enterprise Server) is somebody else's. '' marks a publisher registered before this
-- step: the server binds those to the provider's issuer at startup when exactly one is configured.
ALTER TABLE trusted_publishers ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
