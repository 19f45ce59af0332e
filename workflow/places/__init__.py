"""Places: the communities on the map (boundaries and address table, a published definition),
where a reported location lands, and the hot spots of cases by community."""
