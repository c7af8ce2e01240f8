"""Sources for ``pyregistry import``: directories and PEP 503/691 indexes."""
