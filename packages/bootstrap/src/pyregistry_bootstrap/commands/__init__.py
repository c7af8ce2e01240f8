"""Click subcommands, one module per feature, all built one way.

A command module defines plain ``click.command`` functions and is listed in ``pyregistry_bootstrap.cli.COMMANDS``,
which imports it only when the command runs or ``--help`` lists it. At module level it imports only click, the
standard library and :mod:`~pyregistry_bootstrap.commands.common`; it reaches settings and services only through
``common`` (``load``, ``configured``, ``admin``, ``runtime``, ``serving_runtime``) and imports the use cases it
drives inside the command. Nothing here imports ``pyregistry_bootstrap.cli``.
"""
