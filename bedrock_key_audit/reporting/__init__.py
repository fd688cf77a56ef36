"""reporting plugin (see its issue)."""
