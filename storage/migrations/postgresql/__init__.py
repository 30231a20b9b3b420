"""The same schema in PostgreSQL's dialect: a baseline equal to SQLite's at version 20, then one
file per later SQLite migration, with the same number (tests/test_postgres.py checks both)."""
