"""`python -m remit` runs the command line."""

from remit.cli import main

main()
