"""Web login pieces shared by the gate's kiosk and the central office's screen, knowing neither.

Password hashing, in-memory sessions with their CSRF tokens, the failed-login throttle and the request
body cap: one home for each rule, below edge/ and central/ as pacing/ is.
"""
