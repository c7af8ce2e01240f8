"""Vulnerability data: the local OSV advisory database and the pysentry adapter."""
