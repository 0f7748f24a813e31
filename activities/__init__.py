"""Temporal activities: the only side effects of a workflow. Each is idempotent on a business key."""
