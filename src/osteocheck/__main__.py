"""`python -m osteocheck`."""

from osteocheck.cli import main

main()
