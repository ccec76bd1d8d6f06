"""Run the CLI with `python -m onboard`."""

from onboard.entrypoints.cli import main

main()
