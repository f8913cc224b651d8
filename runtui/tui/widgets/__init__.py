"""Widgets, one per module, grouped by the screen area they draw."""
