"""``python -m lhs``: the ``lhs`` command."""

from .cli import main

main()
