"""The central office: a separate application beside the gates, never imported by them.

It receives every gate's events exactly once (receiver.py), keeps them in SQLite or PostgreSQL (store_*.py,
one set of statements in sql.py), sends clearances (feed.py) and commands, and reports what it stored
(report.py). ``gate-central`` (cli.py) runs it; ``gate-edge central`` is a lazy alias. Its PostgreSQL
driver, psycopg, is the optional ``central`` extra: a gate box never installs it.
"""
