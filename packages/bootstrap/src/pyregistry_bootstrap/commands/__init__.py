"""Click subcommands, one module per feature; registered in ``pyregistry_bootstrap.cli``."""
