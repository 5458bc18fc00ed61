"""The kiosk's request body cap: webauth's."""

from webauth.body_limit import BodyLimit, BodyTooLarge

__all__ = ["BodyLimit", "BodyTooLarge"]
