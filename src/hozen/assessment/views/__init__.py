"""Screens of the assessment app: the subject portal (``portal``) and the staff workspaces (``staff``)."""
