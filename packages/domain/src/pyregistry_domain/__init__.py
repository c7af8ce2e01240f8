"""pyregistry_domain."""
