"""What both open APIs share (the suppliers' here, the shops' in storefront.shopapi):
errors that are never a 500, bearer tokens with scopes and per-token rate limits,
idempotent writes, and webhook deliveries that are signed, retried and paused.

It works on the abstract rows of .models, so a shop's concrete rows (in its schema) and a
supplier's (in the public schema) go through one implementation.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DataError, IntegrityError, models, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import AfterValidator, BeforeValidator

from core import api_idempotency
from core.api_keys import token_digest, token_looks_valid
from core.webhook_http import webhook_post
from core.webhook_sign import HEADER as SIGNATURE_HEADER
from core.webhook_sign import signature_make

from .models import ApiTokenBase, DeliveryBase, IdempotencyBase, WebhookBase

logger = logging.getLogger(__name__)


# --- errors -------------------------------------------------------------------------------------


class ApiError(Schema):
    """Every error answer: a stable code, a message, and per-field messages when there are."""

    code: str
    message: str
    errors: dict[str, list[str]] = {}


ERRORS: dict[int, Any] = {
    400: ApiError,
    401: ApiError,
    403: ApiError,
    404: ApiError,
    422: ApiError,
    429: ApiError,
}
READ_ERRORS = {k: v for k, v in ERRORS.items() if k != 400}


class ApiProblem(Exception):
    def __init__(
        self, status: int, code: str, message: str, errors: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or {}


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = max(1, retry_after)


def _body(code: str, message: str, errors: dict[str, list[str]] | None = None) -> dict:
    return {"code": code, "message": message, "errors": errors or {}}


def _loc(loc: Iterable[Any]) -> str:
    # Ninja's locations start with where ("body", "query", "path") and the schema's argument name.
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
        if len(parts) > 1 and parts[0] in ("payload", "filters", "data", "body"):
            parts = parts[1:]
    return ".".join(parts) or "__all__"


def django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def errors_install(api: NinjaAPI) -> None:
    """Answer every failure with ApiError and the right status; nothing reaches a 500 but a bug."""

    def respond(request: HttpRequest, status: int, body: dict) -> HttpResponse:
        return api.create_response(request, body, status=status)

    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        errors: dict[str, list[str]] = {}
        for e in exc.errors:
            errors.setdefault(_loc(e.get("loc", ())), []).append(str(e.get("msg", "invalid")))
        return respond(request, 422, _body("invalid", "The request has invalid fields.", errors))

    def on_django_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        errors = django_errors(exc)
        first = next(iter(errors.values()), ["invalid"])[0]
        return respond(request, 422, _body("invalid", first, errors))

    def on_problem(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, exc.status, _body(exc.code, exc.message, exc.errors))

    def on_http(request: HttpRequest, exc: Any) -> HttpResponse:
        if isinstance(exc, AuthenticationError):
            return respond(request, 401, _body("unauthorized", "A valid API token is required."))
        code = {400: "bad_request", 403: "forbidden", 404: "not_found"}.get(
            exc.status_code, "error"
        )
        return respond(request, exc.status_code, _body(code, str(exc)))

    def on_404(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, 404, _body("not_found", "Not found."))

    def on_rate(request: HttpRequest, exc: Any) -> HttpResponse:
        response = respond(request, 429, _body("rate_limited", "Too many requests; slow down."))
        response["Retry-After"] = str(exc.retry_after)
        return response

    def on_data(request: HttpRequest, exc: Any) -> HttpResponse:
        # A value PostgreSQL cannot hold that a check upstream missed: the caller's input.
        logger.warning("API input the database refused: %s", exc)
        return respond(request, 422, _body("invalid", "A value is out of range or not allowed."))

    api.add_exception_handler(NinjaValidationError, on_validation)
    api.add_exception_handler(DjangoValidationError, on_django_validation)
    api.add_exception_handler(ApiProblem, on_problem)
    api.add_exception_handler(HttpError, on_http)
    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(RateLimited, on_rate)
    api.add_exception_handler(DataError, on_data)


# --- tokens and limits --------------------------------------------------------------------------


def rate_check(*, bucket: str) -> None:
    """Count one request of BUCKET (a token) against VSTORE_RATES["api"]; RateLimited when over,
    with the seconds until the window opens again."""
    from django_ratelimit.core import get_usage

    usage = get_usage(
        None,
        group="vstore.api",
        key=lambda _group, _request: bucket,
        rate=settings.VSTORE_RATES["api"],
        increment=True,
    )
    if usage and usage["should_limit"]:
        raise RateLimited(int(usage.get("time_left") or 1))


class TokenAuth(HttpBearer):
    """Bearer token of MODEL with SCOPE; 401 when unknown or revoked, 403 without the scope,
    429 over the token's rate."""

    model: type[ApiTokenBase]
    prefix: str
    kind: str

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def lookup(self, digest: str) -> ApiTokenBase | None:
        return self.model.objects.filter(digest=digest, revoked_at__isnull=True).first()

    def authenticate(self, request: HttpRequest, token: str) -> ApiTokenBase | None:
        if not token_looks_valid(token, prefix=self.prefix):
            return None
        row = self.lookup(token_digest(token))
        if row is None:
            return None
        rate_check(bucket=f"{self.kind}:{row.pk}")
        if not row.has_scope(self.scope):
            raise ApiProblem(403, "forbidden", f"This token lacks the scope {self.scope}.")
        now = timezone.now()
        # Last use to the minute: one write a minute per token, not one per request.
        if row.last_used_at is None or now - row.last_used_at > timedelta(seconds=60):
            type(row).objects.filter(pk=row.pk).update(last_used_at=now)
        return row


def scopes_clean(scopes: Iterable[Any], *, allowed: Iterable[str]) -> list[str]:
    allowed_set = set(allowed)
    chosen = sorted({str(s) for s in scopes})
    unknown = [s for s in chosen if s not in allowed_set]
    if unknown or not chosen:
        raise DjangoValidationError({"scopes": ["Choose scopes from the list."]})
    return chosen


# --- idempotent writes --------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def idempotent(
    request: HttpRequest,
    *,
    model: type[IdempotencyBase],
    token: ApiTokenBase,
    run: Callable[[], Status],
) -> Status:
    """Run the write RUN once per Idempotency-Key of TOKEN: a repeat with the same request gets
    the first answer, with a different one 422. RUN's answer is stored in the transaction of
    its write, so a second request with the key waits for the first and then replays it; a
    write that fails stores nothing and the key may be used again."""
    try:
        key = api_idempotency.key_check(request.headers.get(api_idempotency.HEADER))
    except ValueError as exc:
        raise ApiProblem(
            400, "bad_idempotency_key", str(exc), {"Idempotency-Key": [str(exc)]}
        ) from exc
    if key is None:
        return run()
    fingerprint = api_idempotency.request_fingerprint(
        method=request.method or "", path=request.path, body=request.body
    )
    since = timezone.now() - timedelta(seconds=api_idempotency.KEEP_SECONDS)
    with transaction.atomic():
        model.objects.filter(token=token, key=key, created_at__lt=since).delete()
        try:
            with transaction.atomic():
                record = model.objects.create(
                    token=token, key=key, fingerprint=fingerprint, status_code=0
                )
        except IntegrityError:
            record = model.objects.get(token=token, key=key)
            if record.fingerprint != fingerprint:
                raise ApiProblem(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used for a different request.",
                ) from None
            return Status(record.status_code, record.response)
        result = run()
        record.status_code, record.response = result.status_code, _jsonable(result.value)
        record.save(update_fields=["status_code", "response"])
        return result


def idempotency_doc() -> dict[str, Any]:
    """The Idempotency-Key header in a write's schema (its openapi_extra): what key_check takes,
    an empty key being none."""
    return {
        "parameters": [
            {
                "in": "header",
                "name": api_idempotency.HEADER,
                "required": False,
                "description": "the same key and body again: the first answer again (24 h)",
                "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{0,255}$"},
            }
        ]
    }


def idempotency_purge(*, model: type[IdempotencyBase]) -> int:
    since = timezone.now() - timedelta(seconds=api_idempotency.KEEP_SECONDS)
    return model.objects.filter(created_at__lt=since).delete()[0]


# --- webhooks -----------------------------------------------------------------------------------

SHOP_EVENTS = (
    "order.paid",
    "order.shipped",
    "order.delivered",
    "return.requested",
    "refund.succeeded",
    "campaign.closed",
)
SUPPLIER_EVENTS = ("supplier_order.created", "order.shipped", "order.delivered", "return.requested")
GIVE_UP_AFTER = timedelta(hours=24)


def webhook_secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(24)


def url_allow_private() -> bool:
    """Loopback and private receivers only in development and tests (see core.webhook_http)."""
    return bool(getattr(settings, "VSTORE_WEBHOOK_ALLOW_PRIVATE", settings.DEBUG))


def events_clean(events: Iterable[Any], *, allowed: Iterable[str]) -> list[str]:
    allowed_set = set(allowed)
    chosen = sorted({str(e) for e in events})
    if not chosen or any(e not in allowed_set for e in chosen):
        raise DjangoValidationError({"events": ["Choose events from the list."]})
    return chosen


def retry_delay(attempts: int) -> int:
    """Seconds before attempt ATTEMPTS + 1: 1 min, 2, 4, … doubling, at most 4 hours apart."""
    return int(min(60 * 2 ** max(0, attempts - 1), 4 * 3600))


def deliveries_record(
    *,
    model: type[DeliveryBase],
    webhooks: Iterable[WebhookBase],
    event: str,
    event_id: str | None,
    payload: dict,
) -> list[int]:
    """One delivery row per subscription to EVENT (once per EVENT_ID: a repeated emit adds none);
    returns the ids of the new rows, for the caller to send after commit."""
    event_id = event_id or uuid.uuid4().hex
    data = _jsonable(payload)
    made: list[int] = []
    for webhook in webhooks:
        if event not in (webhook.events or []):
            continue
        row, created = model.objects.get_or_create(
            webhook=webhook,
            event_id=event_id[:64],
            defaults={"event": event, "payload": data, "next_attempt_at": timezone.now()},
        )
        if created:
            made.append(row.pk)
    return made


def delivery_body(delivery: DeliveryBase) -> bytes:
    """What a receiver gets: the event's id, name, time and data, as compact UTF-8 JSON."""
    envelope = {
        "id": delivery.event_id,
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def delivery_attempt(
    *,
    model: type[DeliveryBase],
    delivery_id: int,
    notify_paused: Callable[[Any], None],
    manual: bool = False,
) -> int | None:
    """Send delivery DELIVERY_ID once; returns the seconds until the next try, or None when
    there is none (delivered, given up after 24 h, paused, or already being sent).

    The row is locked while sending, so two workers never send one delivery at once. MANUAL
    (a resend by hand) sends even a failed delivery of a paused subscription.
    """
    with transaction.atomic():
        delivery = (
            model.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return None
        webhook: WebhookBase = delivery.webhook  # type: ignore[attr-defined]
        if not manual and (delivery.status != DeliveryBase.Status.PENDING or not webhook.is_active):
            return None
        body = delivery_body(delivery)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "VStore-Webhooks/1",
            "X-VStore-Event": delivery.event,
            "X-VStore-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: signature_make(
                secret=webhook.secret, timestamp=int(time.time()), body=body
            ),
        }
        outcome = webhook_post(
            webhook.url,
            body=body,
            headers=headers,
            timeout=float(getattr(settings, "VSTORE_WEBHOOK_TIMEOUT", 10.0)),
            allow_private=url_allow_private(),
        )
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = outcome.status
        delivery.last_response = outcome.text
        wait: int | None = None
        hooks = type(webhook).objects.select_for_update().filter(pk=webhook.pk)
        if outcome.ok:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                DeliveryBase.Status.SUCCEEDED,
                now,
                None,
            )
            # Only a subscription that was failing is written: deliveries to a healthy one
            # would otherwise queue on its row's lock, one commit at a time.
            hooks.filter(failures__gt=0).update(failures=0)
        else:
            hooks.update(failures=models.F("failures") + 1)
            webhook.refresh_from_db(fields=["failures", "is_active"])
            wait = retry_delay(delivery.attempts)
            gave_up = now + timedelta(seconds=wait) > delivery.created_at + GIVE_UP_AFTER
            pause_after = int(getattr(settings, "VSTORE_WEBHOOK_PAUSE_AFTER", 15))
            if manual or gave_up:
                wait = None
            if gave_up:
                delivery.status = DeliveryBase.Status.FAILED
            if webhook.is_active and (gave_up or webhook.failures >= pause_after):
                webhook_pause(webhook, reason=f"{webhook.failures} failed attempts in a row")
                transaction.on_commit(lambda: notify_paused(webhook))
                wait = None
            delivery.next_attempt_at = now + timedelta(seconds=wait) if wait else None
            if wait is None and delivery.status == DeliveryBase.Status.PENDING and not manual:
                delivery.status = DeliveryBase.Status.FAILED
        delivery.save()
    return wait


def webhook_pause(webhook: WebhookBase, *, reason: str) -> None:
    type(webhook).objects.filter(pk=webhook.pk).update(
        is_active=False, paused_at=timezone.now(), pause_reason=reason[:300]
    )
    webhook.is_active, webhook.pause_reason = False, reason[:300]


def webhook_resume(webhook: WebhookBase) -> None:
    type(webhook).objects.filter(pk=webhook.pk).update(
        is_active=True, paused_at=None, pause_reason="", failures=0
    )
    webhook.is_active, webhook.failures = True, 0


# --- input types and pages ----------------------------------------------------------------------


def _safe_line(value: str) -> str:
    from core.text import text_problem

    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _safe_text(value: str) -> str:
    from core.text import text_problem

    problem = text_problem(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value


# One line of text with the project's text rule (core.text): no NUL, controls, bidi overrides.
SafeLine = Annotated[str, AfterValidator(_safe_line)]
SafeText = Annotated[str, AfterValidator(_safe_text)]

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_MOMENT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?\Z"
)


def _day_text(value: Any) -> Any:
    # Pydantic alone also takes a number (or a string of digits) for a Unix time.
    if isinstance(value, date) or (isinstance(value, str) and _DAY.match(value)):
        return value
    raise ValueError("a date as YYYY-MM-DD")


def _moment_text(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _MOMENT.match(value)):
        return value
    raise ValueError("a time as YYYY-MM-DDTHH:MM:SS with its offset")


# The schema's "date" and "date-time": ISO 8601 text only, never a number taken as a Unix time.
Day = Annotated[date, BeforeValidator(_day_text)]
When = Annotated[datetime, BeforeValidator(_moment_text)]


def _moment(value: datetime) -> datetime:
    """An aware time in a sane range (a naive one is the shop's local time): never an overflow
    deep in a service or the database."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not 2000 <= year <= 2100:
        raise ValueError("a time between the years 2000 and 2100")
    return value


# A time to come of a write (a coupon's, a campaign's): never an overflow deep in a service or
# the database (a year 1 or 9999 with an offset is outside what Python's datetime holds in UTC).
Moment = Annotated[When, AfterValidator(_moment)]
PAGE_MAX = 100


# A page's cursor is the last id it showed, in hex: its whole form is in the schema, so every
# cursor the schema allows is one the API takes (an id that no row has just pages on from it).
CURSOR_PATTERN = r"^[0-9a-f]{1,16}$"


class Cursor(Schema):
    cursor: str | None = Field(
        None, pattern=CURSOR_PATTERN, description="next_cursor of the page before"
    )
    limit: int = Field(50, ge=1, le=PAGE_MAX)


def cursor_encode(pk: int) -> str:
    return f"{pk:x}"


def cursor_decode(text: str | None) -> int | None:
    """The id a cursor stands for; 422 when it is not one we made (the schema's pattern
    refuses those before this)."""
    if not text:
        return None
    if re.fullmatch(CURSOR_PATTERN.strip("^$"), text) is None:
        raise ApiProblem(422, "invalid", "This cursor is not valid.", {"cursor": ["Not a cursor."]})
    # At most 16 hex digits; Django answers an id beyond the column's range as no row (or all).
    return int(text, 16)


def created_between(qs: Any, since: date | None, until: date | None) -> Any:
    """Rows created on or after SINCE and before UNTIL, days in the platform's time zone.

    A range on created_at itself, not created_at__date: the cast to a date would hide the
    column from its index on a table of 100,000 orders.
    """
    zone = timezone.get_default_timezone()
    if since is not None:
        qs = qs.filter(created_at__gte=datetime.combine(since, datetime.min.time(), zone))
    if until is not None:
        qs = qs.filter(created_at__lt=datetime.combine(until, datetime.min.time(), zone))
    return qs


def page_of(qs: Any, *, cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """Newest first by id: the rows after CURSOR and the cursor of the next page (None: last)."""
    before = cursor_decode(cursor)
    if before is not None:
        qs = qs.filter(pk__lt=before)
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (cursor_encode(rows[-1].pk) if more and rows else None)
