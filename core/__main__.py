"""`python -m interplay.core` runs the CLI."""

from .cli import main

main()
