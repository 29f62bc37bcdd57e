"""A local stand-in for Kajabi's Public API, on 127.0.0.1, for the tests and the API demo.

It answers in the documented shapes (Kajabi's published OpenAPI document for its Public API):
``POST /v1/oauth/token`` (form body, client credentials, a bearer token that expires after
``expires_in`` seconds), JSON:API resources,
``GET /v1/sites``, ``GET /v1/custom_fields``, ``GET /v1/contacts`` paged by
``page[number]``/``page[size]`` (at most 100) with ``links`` (absolute URLs, ``next`` null on
the last page) and ``meta`` (``total_pages``, ``total_count``, ``current_page``), ``GET`` and a
partial ``PATCH /v1/contacts/{id}`` (only the attributes sent change), ``POST /v1/contacts``
(needs the ``site`` relationship; 422 "has already been taken" for an existing email), and JSON:API
error bodies with ``status``, ``source.pointer``, ``title`` and ``detail``.

Faults a test can script: answers queued for the next matching requests (429 with
``Retry-After``, 5xx), a page that keeps failing, every token expiring at once, and a server
that applies a PATCH, loses its answer and then stays down. Every request is logged (method,
path, query, body, whether it carried a valid token) for contract tests; the logged body of the
token request has the secret removed.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

JSON_API = "application/vnd.api+json"
MAX_PAGE_SIZE = 100
STANDARD_ATTRIBUTES = (
    "name",
    "email",
    "address_line_1",
    "address_line_2",
    "address_city",
    "address_country",
    "address_state",
    "address_zip",
    "phone_number",
    "business_number",
    "subscribed",
    "external_user_id",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorised: bool
    content_type: str


@dataclass
class QueuedAnswer:
    method: str
    path_prefix: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class FakeKajabi:
    """The fake's state and faults; ``start()`` serves it on 127.0.0.1 (a free port)."""

    def __init__(
        self,
        client_id: str = "demo-client",
        client_secret: str = "demo-secret",
        *,
        site_id: str = "1001",
        site_title: str = "Demo site",
        expires_in: int = 7200,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.sites: dict[str, str] = {site_id: site_title}
        self.site_id = site_id
        self.expires_in = expires_in
        self.custom_fields: dict[str, str] = {}  # handle -> title
        self.contacts: dict[str, dict[str, Any]] = {}  # id -> attributes (insertion = creation)
        self.contact_site: dict[str, str] = {}
        self.requests: list[LoggedRequest] = []
        self.queued: list[QueuedAnswer] = []
        self.failing_page: int | None = None  # GET /v1/contacts page that keeps answering 503
        self.reject_patch_ids: dict[str, tuple[str, str]] = {}  # id -> (pointer, detail)
        self.lose_answer_after_patches: int | None = None
        self.down = False
        self.patches_applied: list[tuple[str, dict[str, Any]]] = []
        self._tokens: dict[str, float] = {}
        self._next_id = 10_000
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- running ---------------------------------------------------------------------------

    def start(self) -> FakeKajabi:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeKajabi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}"

    def environment(self) -> dict[str, str]:
        """The KAJABI_SYNC_* variables that point the sync at this fake."""
        return {
            "KAJABI_SYNC_API_URL": self.url,
            "KAJABI_SYNC_CLIENT_ID": self.client_id,
            "KAJABI_SYNC_CLIENT_SECRET": self.client_secret,
        }

    # --- state -----------------------------------------------------------------------------

    def add_contact(self, contact_id: str | None = None, **attributes: Any) -> str:
        with self._lock:
            if contact_id is None:
                self._next_id += 1
                contact_id = str(self._next_id)
            now = _now()
            record = dict.fromkeys(STANDARD_ATTRIBUTES)
            record["subscribed"] = False
            record.update({handle: None for handle in self.custom_fields})
            record.update(attributes)
            record.setdefault("created_at", now)
            record["created_at"] = record["created_at"] or now
            record["updated_at"] = record.get("updated_at") or record["created_at"]
            self.contacts[str(contact_id)] = record
            self.contact_site[str(contact_id)] = self.site_id
            return str(contact_id)

    def edit_contact(self, contact_id: str, **attributes: Any) -> None:
        """A change made in Kajabi's own UI."""
        with self._lock:
            self.contacts[contact_id].update(attributes)
            self.contacts[contact_id]["updated_at"] = _now()

    def remove_contact(self, contact_id: str) -> None:
        """A contact deleted in Kajabi's own UI."""
        with self._lock:
            self.contacts.pop(contact_id, None)
            self.contact_site.pop(contact_id, None)

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (as a lifetime running out would)."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def queue(
        self,
        method: str,
        path_prefix: str,
        status: int,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (e.g. 429, 503)."""
        with self._lock:
            for _ in range(times):
                self.queued.append(QueuedAnswer(method, path_prefix, status, dict(headers or {})))

    def logged(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path.startswith(path))
        ]

    def patch_count(self, contact_id: str) -> int:
        return sum(1 for applied, _ in self.patches_applied if applied == contact_id)

    # --- answers ---------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        """(status, headers, body) for one request; None to drop the connection unanswered."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        content_type = headers.get("Content-Type", "")
        with self._lock:
            body = self._body(path, content_type, raw)
            authorised = self._authorised(headers.get("Authorization", ""))
            self.requests.append(LoggedRequest(method, path, query, body, authorised, content_type))
            if self.down:
                return None
            for index, answer in enumerate(self.queued):
                if answer.method == method and path.startswith(answer.path_prefix):
                    del self.queued[index]
                    return _errors(answer.status, None, "scripted fault", answer.headers)
            if method == "POST" and path == "/v1/oauth/token":
                return self._token(body if isinstance(body, dict) else {})
            if not authorised:
                return _errors(401, None, "Authorization header is missing or invalid")
            return self._resource(method, path, query, body)

    def _body(self, path: str, content_type: str, raw: bytes) -> Any:
        if not raw:
            return None
        if path == "/v1/oauth/token":
            form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            return {k: ("***" if k == "client_secret" else v) for k, v in form.items()} | {
                "_secret_matches": form.get("client_secret") == self.client_secret
            }
        try:
            return json.loads(raw)
        except ValueError:
            return {"_unparsable": True}

    def _authorised(self, header: str) -> bool:
        if not header.startswith("Bearer "):
            return False
        expiry = self._tokens.get(header.removeprefix("Bearer "))
        return expiry is not None and time.monotonic() < expiry

    def _token(self, form: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if form.get("grant_type") != "client_credentials":
            return _plain_error(400, "unsupported_grant_type")
        if form.get("client_id") != self.client_id or not form.get("_secret_matches"):
            return _plain_error(401, "invalid_client")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + self.expires_in
        return _json(
            200,
            {
                "access_token": token,
                "refresh_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": self.expires_in,
            },
            "application/json",
        )

    def _resource(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, dict[str, str], bytes] | None:
        if method == "GET" and path == "/v1/sites":
            data = [
                {"id": site, "type": "sites", "attributes": {"title": title}}
                for site, title in self.sites.items()
            ]
            return _json(200, {"data": data})
        if method == "GET" and path == "/v1/custom_fields":
            data = [
                {
                    "id": str(i + 1),
                    "type": "custom_fields",
                    "attributes": {
                        "handle": handle,
                        "title": title,
                        "type": "TextField",
                        "required": False,
                        "archived": False,
                    },
                }
                for i, (handle, title) in enumerate(self.custom_fields.items())
            ]
            return self._page(path, query, data)
        if path == "/v1/contacts" and method == "GET":
            return self._list_contacts(path, query)
        if path == "/v1/contacts" and method == "POST":
            return self._create(body)
        match = re.fullmatch(r"/v1/contacts/([^/]+)", path)
        if match:
            contact_id = match.group(1)
            if contact_id not in self.contacts:
                return _errors(404, None, f"Couldn't find contact {contact_id}")
            if method == "GET":
                return _json(200, {"data": self._resource_of(contact_id)})
            if method == "PATCH":
                return self._patch(contact_id, body)
        return _errors(404, None, f"no route {method} {path}")

    def _list_contacts(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        site = query.get("filter[site_id]")
        if site is None and len(self.sites) > 1:
            return _errors(400, "/filter/site_id", "filter[site_id] is required")
        ids = [i for i in self.contacts if site is None or self.contact_site[i] == site]
        search = (query.get("filter[search]") or "").lower()
        if search:
            ids = [
                i
                for i in ids
                if search in str(self.contacts[i].get("email") or "").lower()
                or search in str(self.contacts[i].get("name") or "").lower()
            ]
        sort = query.get("sort", "-created_at")
        if sort.lstrip("-") in ("created_at", "name", "email"):
            key = sort.lstrip("-")
            ids.sort(key=lambda i: (str(self.contacts[i].get(key) or ""), int(i)))
            if sort.startswith("-"):
                ids.reverse()
        number = int(query.get("page[number]", "1") or 1)
        if self.failing_page is not None and number == self.failing_page:
            return _errors(503, None, "Service Unavailable")
        data = [self._resource_of(i) for i in ids]
        return self._page(path, query, data)

    def _page(
        self, path: str, query: dict[str, str], data: list[dict[str, Any]]
    ) -> tuple[int, dict[str, str], bytes]:
        size = max(1, min(MAX_PAGE_SIZE, int(query.get("page[size]", "25") or 25)))
        number = max(1, int(query.get("page[number]", "1") or 1))
        total = len(data)
        pages = max(1, -(-total // size))

        def link(page: int | None) -> str | None:
            if page is None or page < 1 or page > pages:
                return None
            params = dict(query) | {"page[number]": str(page), "page[size]": str(size)}
            return f"{self.url}{path}?{urlencode(params)}"

        return _json(
            200,
            {
                "data": data[(number - 1) * size : number * size],
                "links": {
                    "self": link(number),
                    "first": link(1),
                    "prev": link(number - 1),
                    "next": link(number + 1),
                    "last": link(pages),
                },
                "meta": {"total_pages": pages, "total_count": total, "current_page": number},
            },
        )

    def _resource_of(self, contact_id: str) -> dict[str, Any]:
        return {
            "id": contact_id,
            "type": "contacts",
            "attributes": dict(self.contacts[contact_id]),
            "relationships": {
                "site": {"data": {"id": self.contact_site[contact_id], "type": "sites"}}
            },
        }

    def _invalid(self, attributes: Any, creating: bool) -> tuple[str, str] | None:
        """(pointer, detail) of the first attribute Kajabi would refuse."""
        if not isinstance(attributes, dict):
            return "/data/attributes", "attributes must be an object"
        allowed = set(STANDARD_ATTRIBUTES) | set(self.custom_fields)
        if creating:
            allowed.discard("external_user_id")
        for name, value in attributes.items():
            if name not in allowed:
                return f"/data/attributes/{name}", f"{name} is not a contact attribute"
            if name == "email" and not _EMAIL.match(str(value or "")):
                return "/data/attributes/email", "Email is invalid"
        return None

    def _patch(self, contact_id: str, body: Any) -> tuple[int, dict[str, str], bytes] | None:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or data.get("type") != "contacts":
            return _errors(400, "/data", "data of type contacts is required")
        attributes = data.get("attributes") or {}
        if contact_id in self.reject_patch_ids:
            pointer, detail = self.reject_patch_ids[contact_id]
            return _errors(422, pointer, detail)
        invalid = self._invalid(attributes, creating=False)
        if invalid:
            return _errors(422, *invalid)
        email_address = attributes.get("email")
        if email_address and self._email_owner(str(email_address)) not in (None, contact_id):
            return _errors(422, "/data/attributes/email", "Email has already been taken")
        self.contacts[contact_id].update(attributes)
        self.contacts[contact_id]["updated_at"] = _now()
        self.patches_applied.append((contact_id, dict(attributes)))
        if (
            self.lose_answer_after_patches is not None
            and len(self.patches_applied) >= self.lose_answer_after_patches
        ):
            self.down = True  # applied, but the answer never leaves, and nothing answers after
            return None
        return _json(200, {"data": self._resource_of(contact_id)})

    def _create(self, body: Any) -> tuple[int, dict[str, str], bytes]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return _errors(400, "/data", "data is required")
        site = (((data.get("relationships") or {}).get("site") or {}).get("data") or {}).get("id")
        if not site or site not in self.sites:
            return _errors(400, "/data/relationships/site", "Site relationship is required")
        attributes = data.get("attributes") or {}
        invalid = self._invalid(attributes, creating=True)
        if invalid:
            return _errors(422, *invalid)
        if self._email_owner(str(attributes.get("email") or "")) is not None:
            return _errors(422, "/data/attributes/email", "Email has already been taken")
        contact_id = self.add_contact(**attributes)
        self.contact_site[contact_id] = site
        return _json(201, {"data": self._resource_of(contact_id)})

    def _email_owner(self, email_address: str) -> str | None:
        wanted = email_address.strip().lower()
        for contact_id, attributes in self.contacts.items():
            if str(attributes.get("email") or "").strip().lower() == wanted:
                return contact_id
        return None

    def load(self, contacts: Iterable[Mapping[str, Any]]) -> None:
        """Add contacts given as dicts with an ``id`` and attributes."""
        for contact in contacts:
            record = dict(contact)
            self.add_contact(str(record.pop("id")), **record)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeKajabi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        return  # quiet: the fake's requests are in ``owner.requests``

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        answer = self.owner.handle(self.command, self.path, dict(self.headers.items()), raw)
        if answer is None:
            self.close_connection = True
            self.connection.close()
            return
        status, headers, body = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(
    status: int, body: Any, content_type: str = JSON_API
) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": content_type}, json.dumps(body).encode()


def _plain_error(status: int, error: str) -> tuple[int, dict[str, str], bytes]:
    return _json(status, {"error": error}, "application/json")


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _errors(
    status: int, pointer: str | None, detail: str, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    error: dict[str, Any] = {"status": str(status), "title": _TITLES.get(status, "Error")}
    if pointer:
        error["source"] = {"pointer": pointer}
    error["detail"] = detail
    code, base_headers, body = _json(status, {"errors": [error]})
    return code, base_headers | dict(headers or {}), body
