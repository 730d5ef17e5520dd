"""``python -m cli`` is the ``shegong`` command."""

from cli import main

main()
