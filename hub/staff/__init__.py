"""Staff accounts: roles, argon2 password hashes, TOTP second factor, and the sign-in throttle (SEC-18)."""
