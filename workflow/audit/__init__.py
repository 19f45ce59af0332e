"""The hash-chained trail: append, verify, replay, export."""
