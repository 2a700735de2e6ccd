"""The hub's web side: one blueprint per area (public, admin, api, health); `hub.app.create_app` joins."""
