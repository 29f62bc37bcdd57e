"""A typed client for the parts of Kajabi's Public API the weekly sync uses.

Facts it is built on (Kajabi's published OpenAPI document for its Public API):
OAuth2 client credentials at ``POST /v1/oauth/token`` (form body; ``expires_in`` seconds);
JSON:API resources (``application/vnd.api+json``); ``GET /v1/sites``; ``GET /v1/custom_fields``;
``GET /v1/contacts`` paged by ``page[number]``/``page[size]`` with ``links.next`` and
``meta.total_count``; ``GET``/``PATCH /v1/contacts/{id}``; ``POST /v1/contacts`` with a ``site``
relationship; JSON:API error bodies ``{"errors": [{"status", "source": {"pointer"}, "title",
"detail"}]}``.

Invariants:

- The client secret and the tokens live only in this object's private attributes and in the
  request itself; no message, ``repr`` or exception this module builds contains them.
- Requests are spaced to at most ``rps`` per second, single-threaded.
- 429, 5xx and connection failures are retried with exponential backoff and jitter, honouring
  ``Retry-After``, within ``max_wait`` seconds in total; then one ``KajabiUnavailable`` names the
  endpoint and the last status. A request that changes Kajabi (PATCH, POST) is retried only when
  Kajabi surely did not act on it (429, or a connection that was never made); otherwise
  ``KajabiOutcomeUnknown`` is raised so the caller can look before sending it again.
- Endpoints are named by their path template (``GET /v1/contacts``), never with the query,
  which may hold an email address.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import tenacity

# httpx logs every request URL at INFO; a lookup by email carries the address in its query.
logging.getLogger("httpx").setLevel(logging.WARNING)

JSON_API = "application/vnd.api+json"
PAGE_SIZE = 100
# Renew the token this long before it expires (or at 10% of a shorter lifetime).
TOKEN_MARGIN_S = 60.0
DEFAULT_MAX_WAIT_S = 120.0
DEFAULT_TIMEOUT_S = 30.0


class KajabiApiError(RuntimeError):
    """Kajabi answered with an error that retrying does not fix (400, 401, 403, 404, 422...)."""

    def __init__(
        self,
        endpoint: str,
        status: int | None,
        message: str,
        errors: list[ApiErrorItem] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.status = status
        self.errors = errors or []
        self.message = message
        super().__init__(message)

    def details(self) -> str:
        """Each JSON:API error as ``detail (at pointer)``, joined."""
        return "; ".join(item.describe() for item in self.errors) or self.message


class KajabiRejected(KajabiApiError):
    """422: Kajabi refused the attributes of one contact (``errors`` say which and why)."""

    def taken(self) -> bool:
        """The email already belongs to a Kajabi contact ("has already been taken")."""
        return any("taken" in (item.detail or "").lower() for item in self.errors)


class KajabiNotFound(KajabiApiError):
    """404: no such resource (e.g. the contact was deleted in Kajabi)."""


class KajabiUnavailable(RuntimeError):
    """Kajabi kept failing (429, 5xx, no connection) for longer than the retry budget."""

    def __init__(self, endpoint: str, status: int | None, attempts: int, waited: float) -> None:
        self.endpoint = endpoint
        self.status = status
        last = f"HTTP {status}" if status else "no connection"
        super().__init__(
            f"Kajabi API {endpoint}: gave up after {attempts} attempt(s) over {waited:.0f} s "
            f"(last answer: {last}). Kajabi may be down or limiting requests "
            "(https://status.kajabi.com); run again later."
        )


class KajabiOutcomeUnknown(RuntimeError):
    """A PATCH/POST whose answer was lost: Kajabi may or may not have applied it."""

    def __init__(self, endpoint: str, cause: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"Kajabi API {endpoint}: the answer was lost ({cause})")


@dataclass(frozen=True)
class ApiErrorItem:
    status: str | None
    title: str | None
    detail: str | None
    pointer: str | None

    def describe(self) -> str:
        text = self.detail or self.title or f"error {self.status}"
        return f"{text} (at {self.pointer})" if self.pointer else text


@dataclass(frozen=True)
class ApiContact:
    """One contact resource: Kajabi's id and its attributes as Kajabi returned them."""

    id: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class CustomField:
    handle: str  # e.g. custom_1: the attribute name of its value on a contact
    title: str


@dataclass
class _Retry(Exception):
    """One failed attempt that may be retried; ``retry_after`` seconds when Kajabi said so."""

    status: int | None
    retry_after: float | None = None
    cause: str = ""


@dataclass
class _Token:
    access: str = field(repr=False)
    expires_at: float


def parse_errors(response: httpx.Response) -> list[ApiErrorItem]:
    """The JSON:API ``errors`` of a response (the token endpoint's ``{"error": ...}`` too)."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    if isinstance(body.get("error"), str):
        return [ApiErrorItem(str(response.status_code), body["error"], None, None)]
    items = []
    for error in body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        given = error.get("source")
        source: dict[str, Any] = given if isinstance(given, dict) else {}
        items.append(
            ApiErrorItem(
                status=None if error.get("status") is None else str(error.get("status")),
                title=error.get("title"),
                detail=error.get("detail"),
                pointer=source.get("pointer"),
            )
        )
    return items


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110); None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class KajabiClient:
    """One API key's session with Kajabi. Use as a context manager (closes the connection)."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        rps: float = 2.0,
        max_wait: float = DEFAULT_MAX_WAIT_S,
        timeout: float = DEFAULT_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError(
                "the Kajabi API key is not configured: set KAJABI_SYNC_CLIENT_ID and "
                "KAJABI_SYNC_CLIENT_SECRET (Settings → Public API in Kajabi)"
            )
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._interval = 1.0 / rps
        self._max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._last_request: float | None = None
        self._token: _Token | None = None
        self.requests_sent = 0
        self.tokens_granted = 0
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers={"Accept": JSON_API}
        )

    def __repr__(self) -> str:
        return f"KajabiClient({self.base_url!r})"

    def __enter__(self) -> KajabiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- resources -------------------------------------------------------------------------

    def sites(self) -> list[tuple[str, str]]:
        """(id, title) of every site the key can see."""
        body = self._json("GET", "/v1/sites", "/v1/sites")
        return [
            (str(item["id"]), str((item.get("attributes") or {}).get("title") or ""))
            for item in body.get("data") or []
        ]

    def custom_fields(self, site_id: str) -> list[CustomField]:
        fields = []
        for item in self._paged("/v1/custom_fields", {"filter[site_id]": site_id}):
            attributes = item.get("attributes") or {}
            if attributes.get("handle"):
                fields.append(CustomField(str(attributes["handle"]), str(attributes.get("title"))))
        return fields

    def contact_pages(self, site_id: str) -> Iterator[tuple[list[ApiContact], dict[str, Any]]]:
        """Every page of the site's contacts, oldest first, with each page's ``meta``."""
        params = {
            "filter[site_id]": site_id,
            "sort": "created_at",
            "page[number]": "1",
            "page[size]": str(PAGE_SIZE),
        }
        for body in self._pages("/v1/contacts", params):
            yield [_contact(item) for item in body.get("data") or []], dict(body.get("meta") or {})

    def get_contact(self, kajabi_id: str) -> ApiContact:
        body = self._json("GET", f"/v1/contacts/{kajabi_id}", "/v1/contacts/{id}")
        return _contact(body["data"])

    def find_contact_by_email(self, site_id: str, email_address: str) -> ApiContact | None:
        """The site's contact whose email is exactly ``email_address`` (case-insensitive)."""
        wanted = email_address.strip().lower()
        params = {"filter[site_id]": site_id, "filter[search]": wanted, "page[size]": "100"}
        for item in self._paged("/v1/contacts", params):
            contact = _contact(item)
            if str(contact.attributes.get("email") or "").strip().lower() == wanted:
                return contact
        return None

    def update_contact(self, kajabi_id: str, attributes: Mapping[str, Any]) -> ApiContact:
        """PATCH only ``attributes``; Kajabi leaves the others as they are."""
        body = {"data": {"type": "contacts", "id": kajabi_id, "attributes": dict(attributes)}}
        answer = self._json(
            "PATCH", f"/v1/contacts/{kajabi_id}", "/v1/contacts/{id}", json=body, changes=True
        )
        return _contact(answer["data"])

    def create_contact(self, site_id: str, attributes: Mapping[str, Any]) -> ApiContact:
        body = {
            "data": {
                "type": "contacts",
                "attributes": dict(attributes),
                "relationships": {"site": {"data": {"type": "sites", "id": site_id}}},
            }
        }
        answer = self._json("POST", "/v1/contacts", "/v1/contacts", json=body, changes=True)
        return _contact(answer["data"])

    def resolve_site(self, configured: str | None) -> str:
        """The configured site id, else the account's only site (several: say which to set)."""
        if configured:
            return configured
        sites = self.sites()
        if len(sites) == 1:
            return sites[0][0]
        if not sites:
            raise KajabiApiError("GET /v1/sites", 200, "the API key sees no Kajabi site")
        listed = ", ".join(f"{site} ({title})" for site, title in sites)
        raise KajabiApiError(
            "GET /v1/sites",
            200,
            f"the account has {len(sites)} sites ({listed}): set KAJABI_SYNC_SITE_ID to the one "
            "to sync",
        )

    # --- paging ----------------------------------------------------------------------------

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Each page's body, following ``links.next`` (on Kajabi's host only) until it ends."""
        endpoint = f"GET {path}"
        body = self._json("GET", path, path, params=params)
        seen: set[str] = set()
        while True:
            yield body
            following = (body.get("links") or {}).get("next")
            if not following:
                return
            target = self._same_host(str(following), endpoint)
            if target in seen:
                raise KajabiApiError(endpoint, 200, "links.next points back to a page already read")
            seen.add(target)
            body = self._json("GET", target, path)

    def _paged(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        for body in self._pages(path, params):
            yield from body.get("data") or []

    def _same_host(self, url: str, endpoint: str) -> str:
        """``links.next`` as a path on our base URL; refuse another host (the token goes with it)."""
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        if theirs.scheme and (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise KajabiApiError(endpoint, 200, "links.next points to another host; refused")
        return theirs.path + (f"?{theirs.query}" if theirs.query else "")

    # --- requests --------------------------------------------------------------------------

    def _json(
        self,
        method: str,
        url: str,
        template: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        changes: bool = False,
    ) -> dict[str, Any]:
        response = self._send(method, url, template, params=params, json=json, changes=changes)
        try:
            body = response.json()
        except ValueError:
            raise KajabiApiError(
                f"{method} {template}", response.status_code, "the answer is not JSON"
            ) from None
        if not isinstance(body, dict):
            raise KajabiApiError(f"{method} {template}", response.status_code, "unexpected answer")
        return body

    def _send(
        self,
        method: str,
        url: str,
        template: str,
        *,
        params: Mapping[str, str] | None,
        json: Any,
        changes: bool,
    ) -> httpx.Response:
        endpoint = f"{method} {template}"
        started = self._clock()
        attempts = 0
        last_status: list[int | None] = [None]

        def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            response = self._authorised(method, url, endpoint, params, json, changes)
            last_status[0] = response.status_code
            return response

        retrying = self._retrying(started)
        try:
            response = retrying(attempt)
        except _Retry as failed:
            raise KajabiUnavailable(
                endpoint, failed.status, attempts, self._clock() - started
            ) from None
        return self._checked(endpoint, response)

    def _retrying(self, started: float) -> tenacity.Retrying:
        """Retries of ``_Retry`` failures until the next wait would pass ``max_wait`` seconds
        since ``started``, measured on this client's clock."""

        def out_of_budget(state: tenacity.RetryCallState) -> bool:
            return self._clock() - started + state.upcoming_sleep >= self._max_wait

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retry),
            wait=_wait_honouring_retry_after,
            stop=out_of_budget,
            sleep=self._sleep,
            reraise=True,
        )

    def _authorised(
        self,
        method: str,
        url: str,
        endpoint: str,
        params: Mapping[str, str] | None,
        json: Any,
        changes: bool,
    ) -> httpx.Response:
        """One attempt with a valid token; a 401 renews the token once and tries again."""
        for renewed in (False, True):
            token = self._access_token(force=renewed)
            response = self._raw(
                method,
                url,
                endpoint,
                changes,
                params=params,
                content=None if json is None else _json_bytes(json),
                headers={"Authorization": f"Bearer {token}", "Content-Type": JSON_API},
            )
            if response.status_code != 401:
                return response
            self._token = None
        return response

    def _access_token(self, force: bool = False) -> str:
        now = self._clock()
        if self._token is not None and not force and now < self._token.expires_at:
            return self._token.access
        endpoint = "POST /v1/oauth/token"

        def grant() -> httpx.Response:
            return self._raw(
                "POST",
                "/v1/oauth/token",
                endpoint,
                False,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
            )

        retrying = self._retrying(now)
        try:
            response = retrying(grant)
        except _Retry as failed:
            raise KajabiUnavailable(endpoint, failed.status, 0, self._clock() - now) from None
        if response.status_code in (400, 401, 403):
            raise KajabiApiError(
                endpoint,
                response.status_code,
                f"Kajabi API {endpoint}: HTTP {response.status_code}: the API key was refused "
                f"({'; '.join(e.describe() for e in parse_errors(response)) or 'no detail'}). "
                "Check KAJABI_SYNC_CLIENT_ID and KAJABI_SYNC_CLIENT_SECRET, and that the key "
                "was not deleted or rotated in Kajabi (Settings → Public API).",
            )
        response = self._checked(endpoint, response)
        body = response.json()
        lifetime = float(body.get("expires_in") or 0)
        margin = min(TOKEN_MARGIN_S, lifetime * 0.1)
        self._token = _Token(str(body["access_token"]), self._clock() + lifetime - margin)
        self.tokens_granted += 1
        return self._token.access

    def _raw(
        self, method: str, url: str, endpoint: str, changes: bool, **kwargs: Any
    ) -> httpx.Response:
        """One HTTP exchange at the rate cap; failures worth retrying become ``_Retry``."""
        self._throttle()
        self.requests_sent += 1
        try:
            response = self._http.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            # The request never reached Kajabi: safe to send again, whatever it was.
            raise _Retry(None, None, type(error).__name__) from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as error:
            if changes:
                raise KajabiOutcomeUnknown(endpoint, type(error).__name__) from None
            raise _Retry(None, None, type(error).__name__) from None
        if response.status_code == 429:
            raise _Retry(429, retry_after_seconds(response.headers.get("Retry-After")))
        if response.status_code >= 500:
            if changes:
                raise KajabiOutcomeUnknown(endpoint, f"HTTP {response.status_code}")
            raise _Retry(
                response.status_code, retry_after_seconds(response.headers.get("Retry-After"))
            )
        return response

    def _throttle(self) -> None:
        # At most one request start per interval: the rate cap KAJABI_SYNC_API_RPS.
        now = self._clock()
        if self._last_request is not None:
            wait = self._last_request + self._interval - now
            if wait > 0:
                self._sleep(wait)
                now = self._clock()
        self._last_request = now

    def _checked(self, endpoint: str, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if status < 400:
            return response
        errors = parse_errors(response)
        detail = "; ".join(item.describe() for item in errors) or response.reason_phrase
        message = f"Kajabi API {endpoint}: HTTP {status}: {detail}"
        if status == 403:
            message += " (the API key lacks a permission: edit the key in Kajabi)"
        kind: type[KajabiApiError] = KajabiApiError
        if status == 422:
            kind = KajabiRejected
        elif status == 404:
            kind = KajabiNotFound
        raise kind(endpoint, status, message, errors)


def _wait_honouring_retry_after(state: tenacity.RetryCallState) -> float:
    backoff = tenacity.wait_exponential_jitter(multiplier=0.5, max=30.0, jitter=0.5)(state)
    failure = state.outcome.exception() if state.outcome else None
    asked = failure.retry_after if isinstance(failure, _Retry) else None
    return max(backoff, asked) if asked is not None else backoff


def _json_bytes(value: Any) -> bytes:
    return jsonlib.dumps(value, ensure_ascii=False).encode("utf-8")


def _contact(item: Mapping[str, Any]) -> ApiContact:
    return ApiContact(str(item["id"]), dict(item.get("attributes") or {}))
