"""Stripe subscriptions: the signed webhook that moves users between plans."""
