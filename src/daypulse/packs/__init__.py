"""Built-in metric packs (YAML); see daypulse.spec.packs and docs/packs.md."""
