"""Listing, filtering, scoping and paging: one module per concept, for the API and the console."""
