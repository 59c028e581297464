"""Seeded generator of realistic (synthetic) source files for the demo, tests and benchmark."""
