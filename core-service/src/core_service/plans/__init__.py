"""Subscription plans and their limits."""
