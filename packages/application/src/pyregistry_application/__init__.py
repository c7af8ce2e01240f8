"""pyregistry_application."""
