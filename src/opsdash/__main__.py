"""``python -m opsdash`` runs the opsdash command."""

from opsdash.cli import main

main()
