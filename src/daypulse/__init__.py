"""daypulse: a company\x27s daily business pulse."""
