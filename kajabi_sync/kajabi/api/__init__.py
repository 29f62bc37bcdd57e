"""Kajabi Public API: client, snapshot pull, push planner and executor."""
