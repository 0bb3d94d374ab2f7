"""installations context."""
