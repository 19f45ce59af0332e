"""streetflow's engine: the list of powers and responsibilities as versioned state machines, cases and their trail.

This package never imports Flask: the CLI, the API, tests and notebooks all drive it the same way.
"""
