"""The use case, dialect-neutral: plan, submit, wait, encode and compose, for every router and the CLI."""
