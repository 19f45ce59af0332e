"""Machines, the engine (open, fire), holders and the working-day clock."""
