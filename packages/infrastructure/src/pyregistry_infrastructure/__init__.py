"""pyregistry_infrastructure."""
