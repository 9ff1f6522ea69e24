"""Integration tests that need PostgreSQL itself use `pg_container` from tests/conftest.py."""
