"""flask-smorest blueprints, one per resource."""
