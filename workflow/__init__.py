"""streetflow's engine: the rights-and-duties list as versioned state machines, cases and their trail.

This package never imports Flask: the CLI, the API, tests and notebooks all drive it the same way.
"""
