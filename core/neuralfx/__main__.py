"""``python -m neuralfx`` is the ``neuralfx`` command."""

from neuralfx.console import main

main()
