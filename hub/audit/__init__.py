"""The audit log (granskningslogg): append-only, each entry chained to the one before by its hash (SEC-16)."""
