"""Computing metric values for a range and keeping them in the store."""

from daypulse.engine.compute import MetricValue, compiled_sql, compute_values

__all__ = ["MetricValue", "compiled_sql", "compute_values"]
