"""Facades: the incident, governance and trace domains, each an actor acking its expectation.

They import the actor base and the domain only, never each other.
"""
