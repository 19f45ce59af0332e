"""`python -m api`: the streetflow command."""

from api.cli import main

main()
