"""Delivery: subscriptions, schedules and the periods they deliver (pure logic; sending lives in channels)."""
