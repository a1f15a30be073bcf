"""Helpers for the test suites of every package (not shipped with any service)."""
