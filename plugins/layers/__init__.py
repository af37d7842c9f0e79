"""Shared building blocks used by several first-party components (not registered themselves)."""
