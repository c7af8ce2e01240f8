"""Limit counters shared by the nodes of a deployment: in-process, Redis or PostgreSQL."""
