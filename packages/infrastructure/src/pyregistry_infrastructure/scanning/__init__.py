"""Wheel scanners: AST checks, file heuristics, FoxGuard and YARA."""
