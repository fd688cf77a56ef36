"""remediation plugin (see its issue)."""
