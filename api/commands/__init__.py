"""The `streetflow` command line, one module per group of commands."""
