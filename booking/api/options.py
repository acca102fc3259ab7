"""Keys of route handlers' ``opt`` that the app's middleware reads."""

from __future__ import annotations

#: The handler's answer is always small (one object): no gzip compressor is set up for it.
#: Litestar's compression middleware builds one per response before it knows the body's size,
#: and for a create's 201 of a few hundred bytes (below ``minimum_size``) that cost about 3 % of
#: the request (issue 10, py-spy of the create benchmark's server).
UNCOMPRESSED = "uncompressed"
