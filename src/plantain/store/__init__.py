"""What must survive a restart: API keys (hashed) and the usage ledger, in SQLite or PostgreSQL."""
