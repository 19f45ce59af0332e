"""Route templates, units and the list: frozen spec objects, schemas, loader and validation."""
