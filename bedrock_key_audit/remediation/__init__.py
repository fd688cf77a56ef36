"""Remediation: fixers plan steps for failing checks, and the change guard applies them."""
