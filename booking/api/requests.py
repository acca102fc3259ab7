"""The request class of the app: a JSON body nested too deeply is the client's error.

Litestar decodes a JSON body with msgspec, which recurses once per level of nesting; a body
of 100,000 ``[`` exhausts Python's recursion limit and the ``RecursionError`` would answer 500.
No request of this service nests more than a few levels, so such a body is refused with 400.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException


class BoundedRequest(Request):  # type: ignore[type-arg]
    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException("the JSON body is nested too deeply") from None
