"""Policy rules for the document vault (issue 7 §3)."""
