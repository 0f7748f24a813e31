"""Pure skill-evaluation rules and the versioned policy data they read.

Workflows, activities and consumers all call these functions. Nothing here touches the
network, a database or the clock: callers pass "today" in, so Temporal workflows get the
same answer on every replay. Policy data is read from ``policy/data`` when each module is
imported, never while a rule runs.
"""
