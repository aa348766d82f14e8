"""``python -m emlab`` = the ``emlab`` command."""

from emlab.cli import main

main()
