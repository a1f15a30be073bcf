"""Usage metering against plan limits."""
