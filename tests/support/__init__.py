"""Helpers tests share: in-memory stand-ins and a sandbox run in a thread."""
