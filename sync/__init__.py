"""Store-and-forward to the central office over MQTT: the contract, the outbox drainer, clearances, commands.

A library: it knows nothing of edge/ (the gate adapts its store and lane to :mod:`sync.ports`). The
reference receiver of the contract documented in docs/mqtt.md is the top-level ``central`` package, which
the gate never imports.
"""
