"""Alerts: rules on metrics (thresholds) and which of them the stored values cross."""
