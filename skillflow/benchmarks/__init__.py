"""``skillflow benchmark``: throughput figures next to the raw engines, measured in one run.

Each benchmark gets settings for a fresh set of servers (PostgreSQL, the broker, a Temporal dev
server with its SQLite file — the same kinds ``skillflow up`` runs) and returns a dict of
figures, including the raw-engine baseline it measured on the same servers.
"""
