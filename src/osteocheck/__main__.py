"""`python -m osteocheck`."""

from osteocheck.entry import main

main()
