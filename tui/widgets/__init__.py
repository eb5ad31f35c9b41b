"""Reusable widgets of the interface: one per module, each with its own job."""
