"""`python -m ml_anki` is the `ml-anki` command."""

from .cli import main

main()
