"""Helpers of our commands that belong to no one system; nothing here imports DIRAC."""
