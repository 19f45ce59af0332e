"""Storage: models, the database engine and sessions, migrations."""
