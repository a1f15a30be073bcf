"""Registration, login, access and refresh tokens."""
