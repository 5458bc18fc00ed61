"""The kiosk's failed-login throttle: webauth's (its settings are KioskConfig's ``login_*`` fields)."""

from webauth.login_throttle import MAX_KEYS, LoginThrottle, delay_s

__all__ = ["MAX_KEYS", "LoginThrottle", "delay_s"]
