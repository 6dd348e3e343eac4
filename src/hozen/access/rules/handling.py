"""Policy rules for handler lists, briefings and reading designated material (issue 7 §1–2)."""
