"""The encrypted document vault: documents, markings, traceable copies and custody (issue 7 §3)."""
