"""Packaging: resource locator, console script, plugin gating."""
