"""``python -m neuralfx`` is the ``neuralfx`` command."""

from neuralfx.cli import cli

cli()
