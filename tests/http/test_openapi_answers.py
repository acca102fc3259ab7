"""The OpenAPI document names every answer; feeds answer HEAD; gzip and plain feed bodies
carry different strong ETags."""

from __future__ import annotations

from tests.http.conftest import login

ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "422", "429", "503"}


async def test_openapi_documents_problem_answers_and_calendar_feeds(client):
    document = (await client.get("/schema/openapi.json")).json()
    missing = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not path.startswith("/api/"):
                continue
            responses = operation["responses"]
            for status in ERROR_STATUSES:
                content = responses.get(status, {}).get("content", {})
                if "application/problem+json" not in content:
                    missing.append(f"{method.upper()} {path} {status}")
            for status in ("429", "503"):
                if "Retry-After" not in responses[status].get("headers", {}):
                    missing.append(f"{method.upper()} {path} {status} Retry-After")
    assert not missing, missing
    feed = document["paths"]["/feeds/{filename}"]
    for method in ("get", "head"):
        assert list(feed[method]["responses"]["200"]["content"]) == ["text/calendar"]
        assert "304" in feed[method]["responses"] and "application/problem+json" in feed[method]["responses"]["404"]["content"]
    assert "Problem" in document["components"]["schemas"]


async def test_feed_head_and_etags_per_encoding(client, world):
    await login(client, world, "member_a")
    feed = (await client.post("/api/v1/feeds", json={"scope": "person"})).json()
    path = feed["url"].removeprefix("http://testserver.local")
    client.cookies.clear()

    plain = await client.get(path, headers={"accept-encoding": "identity"})
    gzipped = await client.get(path, headers={"accept-encoding": "gzip"})
    assert plain.status_code == gzipped.status_code == 200
    assert gzipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert gzipped.content == plain.content  # httpx decodes the gzip body
    assert plain.headers["etag"] != gzipped.headers["etag"]
    assert not plain.headers["etag"].startswith("W/") and not gzipped.headers["etag"].startswith("W/")
    assert "accept-encoding" in plain.headers["vary"].lower()

    # Either variant's ETag validates its own representation.
    again_gzip = await client.get(path, headers={"accept-encoding": "gzip", "if-none-match": gzipped.headers["etag"]})
    again_plain = await client.get(path, headers={"accept-encoding": "identity", "if-none-match": plain.headers["etag"]})
    assert (again_gzip.status_code, again_gzip.headers["etag"]) == (304, gzipped.headers["etag"])
    assert (again_plain.status_code, again_plain.headers["etag"]) == (304, plain.headers["etag"])

    head = await client.head(path, headers={"accept-encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == plain.headers["etag"]
    assert head.headers["content-type"] == "text/calendar; charset=utf-8"
    assert int(head.headers["content-length"]) == len(plain.content)
    assert (await client.head(path, headers={"if-none-match": plain.headers["etag"]})).status_code == 304
    assert (await client.head("/feeds/f_unknown.ics")).status_code == 404


async def test_request_bodies_are_closed_in_the_document_and_in_the_code(client):
    """``additionalProperties: false`` on every request body is true only while every body
    struct forbids unknown fields; both halves are checked, and one body proves the refusal."""
    import typing

    import msgspec
    from litestar.handlers import HTTPRouteHandler

    document = (await client.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]
    open_bodies = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body and "$ref" in body["schema"]:
                name = body["schema"]["$ref"].rsplit("/", 1)[-1]
                if schemas[name].get("additionalProperties") is not False:
                    open_bodies.append(f"{method.upper()} {path}")
    assert not open_bodies, open_bodies

    app = client._transport.app  # type: ignore[attr-defined]
    lenient = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or not route.path.startswith("/api/"):
                continue
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is None:
                continue
            candidates = [data.annotation]
            while candidates:
                annotation = candidates.pop()
                candidates.extend(typing.get_args(annotation))
                if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
                    if not annotation.__struct_config__.forbid_unknown_fields:
                        lenient.append(annotation.__name__)
    assert not lenient, lenient

    answer = await client.post("/api/v1/auth/login", json={"email": "a@b.example", "password": "x", "extra": 1})
    assert answer.status_code == 400 and "unknown field" in answer.text


async def test_a_create_answers_plain_and_a_long_list_gzipped(client, world, app_context):
    """The create's 201 (one booking) skips the compressor (``api.options.UNCOMPRESSED``); answers
    that can be long still come gzipped to a client that accepts it."""
    from datetime import timedelta

    from tests.support.world import next_monday

    await login(client, world, "member_a")
    starts_at = next_monday(app_context.now()) + timedelta(weeks=2, hours=18)
    made = await client.post(
        "/api/v1/bookings", headers={"accept-encoding": "gzip"},
        json={"resource_id": world.room.id, "starts_at": starts_at.isoformat(),
              "ends_at": (starts_at + timedelta(hours=2)).isoformat(),
              "purpose": "x" * 1500},  # an answer over the compression threshold, still sent plain
    )
    assert made.status_code == 201, made.text
    assert "content-encoding" not in made.headers and made.json()["purpose"] == "x" * 1500
    listed = await client.get("/api/v1/bookings", headers={"accept-encoding": "gzip"})  # the same booking, listed
    assert listed.status_code == 200 and listed.headers.get("content-encoding") == "gzip", listed.headers
    assert any(found["purpose"] == "x" * 1500 for found in listed.json())
