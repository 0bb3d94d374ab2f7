"""service context."""
