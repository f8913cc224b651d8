"""Screens: runs (home), run, approvals inbox, help; dialogs live in `runtui.tui.dialogs`."""
