"""``python -m pulse.cli`` — the same as the ``pulse`` command."""

from pulse.cli import main

main()
