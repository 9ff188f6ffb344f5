"""Computing metric values for a range and keeping them in the store."""

from daypulse.engine.compute import compiled_sql, compute_values

__all__ = ["compiled_sql", "compute_values"]
