"""Data contracts and the common referential: the one source of truth for code lists and rules."""
