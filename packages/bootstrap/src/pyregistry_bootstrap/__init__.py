"""pyregistry_bootstrap."""
