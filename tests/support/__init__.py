"""Helpers behind the shared test fixtures: a real Mosquitto runner and paho test clients."""
