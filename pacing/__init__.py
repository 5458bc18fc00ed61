"""Timing helpers that every layer needs and none owns: the retry backoff.

devices/, vision/ and sync/ know nothing of each other or of edge/; this package sits below all of them so
that a backoff is written once.
"""
