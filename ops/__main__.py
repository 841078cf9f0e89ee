"""`python -m ops` is the same as the `fiscaflow` command."""

from ops.cli import main

main()
