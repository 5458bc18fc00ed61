"""The central office's screen: every gate and lane, a search over all gates, one passage, live updates.

Served by `gate-central run --http HOST:PORT` beside the receiver, on its own thread and event loop, with
its own database connection: a web request never holds up ingest.
"""
