"""pyregistry_web."""
