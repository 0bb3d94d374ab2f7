"""leads context."""
