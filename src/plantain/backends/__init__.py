"""Model families behind one small contract: load, capabilities, generate(batch)."""
