"""``bench/search``: full-text search over 1,000,000 generated documents, and the kiosk catalogue sync."""
