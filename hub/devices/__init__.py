"""Kiosks as the hub knows them (enheter): last seen, last heartbeat; and messages that could not be read."""
