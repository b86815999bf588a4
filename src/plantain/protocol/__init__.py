"""Pydantic models of the wire formats and their translation to and from core types. No I/O."""
