"""The read side: one module per concept listing, filtering, scoping and paging it.

Each function is keyword-only past the session, takes the actor whose scope applies, and returns
plain model objects (or a Page of them); the API resources and the console views both call here,
so that a list cannot show one thing on the HTTP API and another in the console. Scope rules (who
sees what) live here too: they are domain rules, not views'. Nothing here imports Flask."""
