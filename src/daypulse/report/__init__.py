"""Reports: definitions, content computed once from the store, charts and renderers."""
