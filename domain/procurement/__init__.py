"""procurement context."""
