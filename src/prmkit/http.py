"""JSON over HTTP with retries, for every prmkit client of a server (generation, served PRMs).

Connection errors, timeouts, 429 and 5xx answers are retried with exponential backoff (a
``Retry-After`` header is honoured up to a minute); other 4xx answers raise ``Refused`` (with the
status) and malformed bodies ``PrmkitError``, at once, naming the URL.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from prmkit.errors import PrmkitError

MAX_RETRY_AFTER = 60.0


class Refused(PrmkitError):
    """The server refused the request (a 4xx answer other than 429), so retrying it cannot help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def retry_after(response: httpx.Response) -> float:
    """Seconds asked for by a ``Retry-After: <seconds>`` header (0 when absent or a date)."""
    try:
        return min(float(response.headers.get("retry-after", 0)), MAX_RETRY_AFTER)
    except ValueError:
        return 0.0


def decode_object(response: httpx.Response, url: str) -> dict[str, Any]:
    """The JSON object of a response, or a ``PrmkitError`` naming ``url``."""
    try:
        data = response.json()
    except ValueError:
        raise PrmkitError(f"{url}: the server answered with non-JSON: {response.text[:200]!r}") from None
    if not isinstance(data, dict):
        raise PrmkitError(f"{url}: expected a JSON object, got {str(data)[:200]}")
    return data


def post_json(
    client: httpx.Client, path: str, body: dict[str, Any], retries: int = 3, backoff: float = 0.5
) -> dict[str, Any]:
    """POST ``body`` to ``path`` with retries (see the module docstring); the decoded JSON object."""
    url = f"{str(client.base_url).rstrip('/')}/{path.lstrip('/')}"
    error = ""
    for attempt in range(retries + 1):
        delay = backoff * 2**attempt
        try:
            response = client.post(path, json=body)
        except httpx.TransportError as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            status = response.status_code
            if status < 400:
                return decode_object(response, url)
            error = f"HTTP {status}: {response.text[:300]}"
            if status != 429 and status < 500:
                raise Refused(f"{url}: {error}", status)
            delay = max(delay, retry_after(response))
        if attempt < retries:
            time.sleep(delay)
    raise PrmkitError(f"{url}: failed after {retries + 1} attempts; last error: {error}")
