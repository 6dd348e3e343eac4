"""Handler lists (need to know) and briefings: who may handle which designated material (issue 7 §2)."""
