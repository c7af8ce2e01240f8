"""HTTP route handlers, one module per interface."""
