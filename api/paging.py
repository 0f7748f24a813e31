"""Query parameters that page through lists or filter by a count.

Every one is bounded: PostgreSQL takes a bigint at most, and an offset of 2^63 was a
server error. Past the bounds a caller gets a 422 naming the parameter.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Path, Query

MAX_OFFSET: Final = 10_000_000
MAX_PAGE: Final = 1000
MAX_SESSION_PAGE: Final = 10_000
MAX_VOLUME: Final = 1_000_000_000

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="rows to return at most")]
# A session's applications come in pages of up to ten thousand (a whole sitting).
SessionPage = Annotated[int, Query(ge=1, le=MAX_SESSION_PAGE, description="rows to return at most")]
MinVolume = Annotated[
    int, Query(ge=0, le=MAX_VOLUME, description="only bodies with at least this many assessed")
]
# Serial ids (PostgreSQL bigserial) in a path.
SerialId = Annotated[int, Path(ge=1, le=2**63 - 1)]
