"""Hostile input against a multi-user server (issue 14): one module per concern."""
