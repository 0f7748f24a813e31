"""Shared by every test group. Integration fixtures live in tests/integration/conftest.py."""

from __future__ import annotations

import logging

logging.getLogger("aiokafka").setLevel(logging.WARNING)
