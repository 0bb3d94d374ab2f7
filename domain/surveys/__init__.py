"""surveys context."""
