"""`python -m osteocheck`."""

from osteocheck.cli.entry import main

main()
