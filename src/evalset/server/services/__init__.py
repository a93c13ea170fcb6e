"""Use cases. Each takes the database and the caller, owns its transaction and raises domain errors."""
