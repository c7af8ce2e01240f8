"""Upstream index clients for mirroring."""
