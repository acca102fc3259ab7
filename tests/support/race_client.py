"""One OS process of a race: fires its requests at a shared start instant, prints the statuses.

Usage: python -m tests.support.race_client URL START_EPOCH JSON_LIST_OF_(token, body)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx


async def fire(url: str, start_at: float, requests: list[tuple[str, dict]]) -> list[int]:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=len(requests))) as client:
        delay = start_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

        async def one(token: str, body: dict) -> int:
            response = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
            return response.status_code

        return list(await asyncio.gather(*(one(token, body) for token, body in requests)))


def main() -> None:
    url, start_at, payload = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
    print(json.dumps(asyncio.run(fire(url, start_at, [tuple(item) for item in payload]))))


if __name__ == "__main__":
    main()
