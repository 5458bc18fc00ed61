"""The gate officer's kiosk: a FastAPI app served by the lane daemon (page, JSON API, live view).

Only the configuration model is imported here, so `edge.config` can compose it without loading FastAPI;
the app is in `edge.kiosk.app`, the server in `edge.kiosk.server`; its commands are in `edge.cli.users`
and `edge.cli.audit`.
"""

from edge.kiosk.config import KioskConfig

__all__ = ["KioskConfig"]
