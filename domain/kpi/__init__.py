"""kpi context."""
