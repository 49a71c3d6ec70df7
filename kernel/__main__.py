"""`python -m kernel` runs the `kernel` command line."""

from kernel.cli import main

main()
