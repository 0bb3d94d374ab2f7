"""reporting context."""
