"""Contract tests: the client's requests against Kajabi's documented paths and bodies, and its
behaviour on the documented (and observed) failures."""

from __future__ import annotations

import logging

import pytest

from kajabi_sync.kajabi.api.client import (
    PAGE_SIZE,
    KajabiApiError,
    KajabiClient,
    KajabiOutcomeUnknown,
    KajabiRejected,
    KajabiUnavailable,
    retry_after_seconds,
)
from kajabi_sync.kajabi.api.snapshot import scan_contacts
from kajabi_sync_tests.kajabi_api.people import SECRET, add_people


def test_token_request_is_the_documented_client_credentials_form(fake_kajabi, client):
    client.sites()
    token, sites = fake_kajabi.requests
    assert (token.method, token.path) == ("POST", "/v1/oauth/token")
    assert token.content_type == "application/x-www-form-urlencoded"
    assert token.body == {
        "grant_type": "client_credentials",
        "client_id": "test-client",
        "client_secret": "***",
        "_secret_matches": True,
    }
    assert (sites.method, sites.path, sites.authorised) == ("GET", "/v1/sites", True)


def test_contacts_are_listed_oldest_first_100_a_page_following_links_next(fake_kajabi, client):
    add_people(fake_kajabi, 250)
    pulled = scan_contacts(client, fake_kajabi.site_id)
    assert len(pulled.contacts) == 250 and pulled.pages == 3
    assert [c.attributes["email"] for c in pulled.contacts[:2]] == [
        "p0@example.com",
        "p1@example.com",
    ]
    pages = fake_kajabi.logged("GET", "/v1/contacts")
    assert [r.query.get("page[number]") for r in pages] == ["1", "2", "3"]
    for request in pages:
        assert request.query["filter[site_id]"] == fake_kajabi.site_id
        assert request.query["page[size]"] == str(PAGE_SIZE)
        assert request.query["sort"] == "created_at"
        assert request.authorised
    assert fake_kajabi.logged("GET", "/v1/custom_fields")[0].query["filter[site_id]"] == "1001"


def test_patch_sends_only_the_given_attributes_as_json_api(fake_kajabi, client):
    contact = fake_kajabi.add_contact(name="Ann Lee", email="ann@example.com", address_city="Oslo")
    answer = client.update_contact(contact, {"phone_number": "+47 555 0101"})
    request = fake_kajabi.logged("PATCH")[0]
    assert request.path == f"/v1/contacts/{contact}"
    assert request.content_type == "application/vnd.api+json"
    assert request.body == {
        "data": {"type": "contacts", "id": contact, "attributes": {"phone_number": "+47 555 0101"}}
    }
    assert answer.attributes["address_city"] == "Oslo"  # untouched by the partial PATCH
    assert answer.attributes["phone_number"] == "+47 555 0101"


def test_create_carries_the_site_relationship(fake_kajabi, client):
    created = client.create_contact("1001", {"name": "New Person", "email": "new@example.com"})
    body = fake_kajabi.logged("POST", "/v1/contacts")[0].body
    assert body["data"]["relationships"] == {"site": {"data": {"type": "sites", "id": "1001"}}}
    assert fake_kajabi.contacts[created.id]["email"] == "new@example.com"
    with pytest.raises(KajabiRejected) as taken:
        client.create_contact("1001", {"name": "Again", "email": "NEW@example.com"})
    assert taken.value.taken()


def test_find_by_email_is_exact_and_case_insensitive(fake_kajabi, client):
    fake_kajabi.add_contact(name="A", email="ann.lee@example.com")
    wanted = fake_kajabi.add_contact(name="B", email="lee@example.com")
    found = client.find_contact_by_email("1001", "LEE@example.com")
    assert found is not None and found.id == wanted
    assert client.find_contact_by_email("1001", "nobody@example.com") is None


def test_a_422_shows_detail_and_source_pointer(fake_kajabi, client):
    contact = fake_kajabi.add_contact(name="Ann", email="ann@example.com")
    with pytest.raises(KajabiRejected) as rejected:
        client.update_contact(contact, {"email": "not-an-email"})
    message = str(rejected.value)
    assert "PATCH /v1/contacts/{id}" in message and "HTTP 422" in message
    assert "Email is invalid (at /data/attributes/email)" in message
    assert rejected.value.details() == "Email is invalid (at /data/attributes/email)"


def test_429_is_retried_after_the_retry_after_it_asks_for(fake_kajabi, client, clock):
    fake_kajabi.queue("GET", "/v1/sites", 429, times=2, headers={"Retry-After": "7"})
    assert client.sites() == [("1001", "Demo site")]
    assert len(fake_kajabi.logged("GET", "/v1/sites")) == 3
    assert sum(1 for s in clock.sleeps if s >= 7) == 2


def test_5xx_is_retried_with_growing_backoff(fake_kajabi, client, clock):
    fake_kajabi.queue("GET", "/v1/sites", 503, times=3)
    client.sites()
    backoffs = [s for s in clock.sleeps if s > 0.5 + 1e-9 or s == pytest.approx(0.5, abs=0.5)]
    assert len(fake_kajabi.logged("GET", "/v1/sites")) == 4
    assert len(backoffs) >= 3


def test_a_request_that_keeps_failing_gives_up_within_the_budget_naming_endpoint_and_status(
    fake_kajabi, client, clock
):
    fake_kajabi.queue("GET", "/v1/sites", 502, times=1000)
    started = clock.now
    with pytest.raises(KajabiUnavailable) as unavailable:
        client.sites()
    assert clock.now - started <= 60.0 + 1
    assert "GET /v1/sites" in str(unavailable.value) and "HTTP 502" in str(unavailable.value)


def test_a_patch_whose_answer_may_be_lost_is_never_retried_blindly(fake_kajabi, client):
    contact = fake_kajabi.add_contact(name="Ann", email="ann@example.com")
    fake_kajabi.queue("PATCH", "/v1/contacts", 500)
    with pytest.raises(KajabiOutcomeUnknown):
        client.update_contact(contact, {"phone_number": "1"})
    assert len(fake_kajabi.logged("PATCH")) == 1


def test_a_patch_refused_with_429_is_retried(fake_kajabi, client):
    contact = fake_kajabi.add_contact(name="Ann", email="ann@example.com")
    fake_kajabi.queue("PATCH", "/v1/contacts", 429, headers={"Retry-After": "1"})
    client.update_contact(contact, {"phone_number": "1"})
    assert fake_kajabi.patch_count(contact) == 1


def test_the_token_is_cached_and_renewed_before_it_expires(fake_kajabi, client, clock):
    fake_kajabi.expires_in = 600
    client.sites()
    client.sites()
    assert client.tokens_granted == 1
    clock.now += 600 - 59  # within the renewal margin
    client.sites()
    assert client.tokens_granted == 2


def test_a_token_that_expires_mid_scan_is_renewed_on_the_401(fake_kajabi, client):
    add_people(fake_kajabi, 250)
    pages = client.contact_pages("1001")
    first, _ = next(pages)
    fake_kajabi.expire_tokens()
    rest = [contact for page, _ in pages for contact in page]
    assert len(first) + len(rest) == 250
    assert client.tokens_granted == 2
    assert [r.authorised for r in fake_kajabi.logged("GET", "/v1/contacts")] == [
        True,
        False,
        True,
        True,
    ]


def test_requests_are_spaced_to_the_rate_cap(fake_kajabi, clock):
    with KajabiClient(
        fake_kajabi.url, "test-client", SECRET, rps=2.0, sleep=clock.sleep, clock=clock
    ) as api:
        started = clock.now
        for _ in range(5):
            api.sites()
        # 6 requests (token + 5) at most 2 a second: the last starts >= 2.5 s after the first.
        assert clock.now - started >= 2.5
        assert api.requests_sent == 6


def test_a_wrong_secret_is_refused_clearly_without_showing_it(fake_kajabi, caplog):
    caplog.set_level(logging.DEBUG)
    with KajabiClient(fake_kajabi.url, "test-client", "wrong-secret-value") as api:
        with pytest.raises(KajabiApiError) as refused:
            api.sites()
    message = str(refused.value)
    assert "HTTP 401" in message and "KAJABI_SYNC_CLIENT_SECRET" in message
    assert "wrong-secret-value" not in message + caplog.text + repr(api)


def test_neither_secret_nor_token_reaches_logs_errors_or_repr(fake_kajabi, client, caplog):
    caplog.set_level(logging.DEBUG)
    contact = fake_kajabi.add_contact(name="Ann", email="ann@example.com")
    texts = [repr(client)]
    client.sites()
    for failure in (
        lambda: client.update_contact(contact, {"email": "bad"}),
        lambda: client.get_contact("nope"),
    ):
        with pytest.raises(KajabiApiError) as error:
            failure()
        texts.append(str(error.value))
    tokens = [
        r.body for r in fake_kajabi.requests if r.path == "/v1/oauth/token"
    ]  # the secret is masked in the fake's own log
    issued = list(fake_kajabi._tokens)
    everything = "\n".join(texts) + caplog.text
    assert SECRET not in everything and all(t not in everything for t in issued)
    assert all(body["client_secret"] == "***" for body in tokens)


def test_links_next_to_another_host_is_refused(fake_kajabi, client, monkeypatch):
    add_people(fake_kajabi, 150)
    original = fake_kajabi._page

    def elsewhere(path, query, data):
        status, headers, body = original(path, query, data)
        return status, headers, body.replace(fake_kajabi.url.encode(), b"https://evil.example")

    monkeypatch.setattr(fake_kajabi, "_page", elsewhere)
    with pytest.raises(KajabiApiError, match="another host"):
        scan_contacts(client, "1001")


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
