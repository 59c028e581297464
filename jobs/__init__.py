"""Spark jobs and their helpers for the observatory of social clauses."""
