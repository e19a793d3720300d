"""``python -m cli``: the ``yunchu`` command (how the hub starts its worker processes)."""

from cli import main

main()
