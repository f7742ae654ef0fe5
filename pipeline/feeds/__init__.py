"""Feeds: lists of feeds, their entries, and when to poll each one (pure, no network)."""
