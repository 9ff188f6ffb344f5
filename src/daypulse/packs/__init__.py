"""Built-in metric packs (YAML); see daypulse.project.packs and docs/packs.md."""
