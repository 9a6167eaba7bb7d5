"""Writes about a shop's fans: tags and notes, the audited export, and fans' requests about
their own data — the download and the deletion of their personal information.

The legal frame (People's Republic of China):

- PIPL (个人信息保护法) art. 45: a person may consult and copy her personal information; the
  download gives her all of it in one JSON file at once.
- PIPL art. 47: a handler deletes personal information when the person withdraws consent or
  asks; where a law sets a retention period that has not ended, it stops every processing
  except storage and the necessary security measures. Art. 50: requests must be accepted and
  handled promptly.
- The time: 《App违法违规收集使用个人信息行为认定方法》 treats an account deletion not done within
  15 working days as unlawful. We complete it within 15 calendar days (DELETION_DAYS), which is
  always inside that limit, automatically (tasks.fan_requests_due_task).
- What must be kept: the E-Commerce Law (电子商务法) art. 31 keeps transaction records for at
  least three years after the transaction, and the Tax Collection Law (税收征收管理法) art. 24
  with the accounting-archive rules keeps the amounts. So her orders stay with their numbers,
  lines and amounts (the shop's totals still add up), while every field that names or reaches
  her is emptied: her name, mobile, e-mail and WeChat openid (and unionid); on her orders the
  contact fields, the recipient, the recipient's phone, the district and street and her note
  (province and city stay: they identify nobody and the tax records keep the place of sale).
- Reviews stay (other buyers rely on them) but no longer name her: the buyer shown is her
  erased fan row, "?**". Share links stay (orders that came through them point at them) but
  their sharer is the erased row, so nothing ties them to her. Notes the team wrote about her
  and her tags are deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.erasure import buyer_erase
from core.money import yuan_plain
from core.shop import current_shop_id
from core.text import text_validate
from storefront.models import Fan, Order

from .models import FanDataRequest, FanExport, FanNote, FanTag
from .selectors import email_masked, mobile_masked

logger = logging.getLogger(__name__)

DELETION_DAYS = 15
TAG_MAX = 20
TAGS_PER_ACTION = 500


# --- tags and notes ----------------------------------------------------------------------------


def tag_name_clean(name: str) -> str:
    name = text_validate(name.strip())
    if not name:
        raise ValidationError(_("Enter a tag."), code="empty")
    if len(name) > TAG_MAX:
        raise ValidationError(
            _("A tag has at most %(n)d characters.") % {"n": TAG_MAX}, code="too_long"
        )
    return name


def fans_tag(*, fan_ids: list[int], name: str, remove: bool = False) -> int:
    """Put the tag NAME on (or take it off) the fans FAN_IDS; returns how many fans it touched.

    Ids that are not live fans of this shop are ignored (a forged id from another shop simply
    names nobody here)."""
    name = tag_name_clean(name)
    fans = list(
        Fan.objects.filter(pk__in=fan_ids[:TAGS_PER_ACTION], erased_at__isnull=True).order_by("pk")
    )
    if remove:
        tag = FanTag.objects.filter(name=name).first()
        if tag is None:
            return 0
        tag.fans.remove(*fans)
        return len(fans)
    if not fans:
        return 0
    with transaction.atomic():
        tag, _created = FanTag.objects.get_or_create(name=name)
        tag.fans.add(*fans)
    return len(fans)


def fan_note_add(*, fan: Fan, author: Any, text: str) -> FanNote:
    text = text_validate(text.strip(), multiline=True)
    if not text:
        raise ValidationError(_("Write a note."), code="empty")
    if len(text) > 500:
        raise ValidationError(_("A note has at most 500 characters."), code="too_long")
    if fan.erased_at is not None:
        raise ValidationError(_("This fan's personal information was deleted."), code="erased")
    return FanNote.objects.create(fan=fan, author=author, text=text)


# --- export ------------------------------------------------------------------------------------

EXPORT_MAX_ROWS = 50_000


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str
    audit: FanExport


def fans_export(
    *,
    fans: Any,
    user: Any,
    purpose: str,
    file_format: str,
    contacts: bool,
    segment: str = "",
    query: str = "",
    tag: str = "",
) -> ExportFile:
    """The fans FANS (a queryset from selectors.fans_for_admin) as CSV or XLSX, with the audit
    row written in the same transaction: no file leaves without its record.

    Contacts are whole only when CONTACTS (the role that sees them); masked otherwise."""
    import tablib

    purpose = text_validate(purpose.strip())
    if len(purpose) < 4:
        raise ValidationError(_("State what the export is for."), code="purpose")
    if file_format not in FanExport.Format.values:
        raise ValidationError(_("Choose CSV or Excel."), code="format")
    headers = [
        _("Fan"),
        _("Name"),
        _("Mobile number"),
        _("E-mail"),
        _("Fan since"),
        _("Paid orders"),
        _("Spent (yuan)"),
        _("Last order"),
        _("Tags"),
    ]
    data = tablib.Dataset(headers=headers, title=_("Fans")[:31])
    with transaction.atomic():
        for fan in fans[:EXPORT_MAX_ROWS]:
            data.append(
                [
                    fan.pk,
                    _cell(fan.name),
                    fan.mobile if contacts else mobile_masked(fan.mobile),
                    _cell(fan.email if contacts else email_masked(fan.email)),
                    timezone.localtime(fan.created_at).strftime("%Y-%m-%d"),
                    fan.paid_orders,
                    yuan_plain(fan.spend_fen),
                    timezone.localtime(fan.last_paid_at).strftime("%Y-%m-%d")
                    if fan.last_paid_at
                    else "",
                    _cell(" ".join(t.name for t in fan.tags.all())),
                ]
            )
        audit = FanExport.objects.create(
            user=user if getattr(user, "pk", None) else None,
            username=getattr(user, "get_username", lambda: "")()[:150],
            purpose=purpose[:200],
            segment=segment[:20],
            query=query[:60],
            tag=tag[:20],
            file_format=file_format,
            with_contacts=contacts,
            row_count=len(data),
        )
    stamp = timezone.localtime(audit.created_at).strftime("%Y%m%d-%H%M")
    if file_format == FanExport.Format.XLSX:
        return ExportFile(
            data.export("xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"fans-{stamp}.xlsx",
            audit,
        )
    # With a BOM: Excel on Chinese Windows opens UTF-8 CSV as GBK without it.
    return ExportFile(
        ("\ufeff" + data.export("csv")).encode("utf-8"),
        "text/csv; charset=utf-8",
        f"fans-{stamp}.csv",
        audit,
    )


def _cell(text: str) -> str:
    """A spreadsheet cell that Excel will not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- a fan's requests about her data -----------------------------------------------------------


def fan_download_record(*, fan: Fan) -> FanDataRequest:
    """Record that FAN downloaded her data (done at once; the creator's list shows it)."""
    now = timezone.now()
    return FanDataRequest.objects.create(
        fan=fan,
        kind=FanDataRequest.Kind.DOWNLOAD,
        state=FanDataRequest.State.DONE,
        due_at=now,
        done_at=now,
    )


def fan_deletion_request(*, fan: Fan, now: datetime | None = None) -> FanDataRequest:
    """FAN asks for her personal information in this shop to be deleted: due in DELETION_DAYS.
    Asking again returns the open request (one per fan, enforced by the database too)."""
    if fan.erased_at is not None:
        raise ValidationError(_("Your personal information was already deleted."), code="erased")
    open_request = fan.deletion_pending
    if open_request is not None:
        return open_request
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return FanDataRequest.objects.create(
                fan=fan,
                kind=FanDataRequest.Kind.DELETE,
                due_at=now + timedelta(days=DELETION_DAYS),
            )
    except IntegrityError:  # the same request sent twice at once
        return FanDataRequest.objects.get(
            fan=fan, kind=FanDataRequest.Kind.DELETE, state=FanDataRequest.State.PENDING
        )


def fan_deletion_withdraw(*, fan: Fan) -> bool:
    """She changed her mind before it was done: the open request is withdrawn."""
    return bool(
        FanDataRequest.objects.filter(
            fan=fan, kind=FanDataRequest.Kind.DELETE, state=FanDataRequest.State.PENDING
        ).update(state=FanDataRequest.State.WITHDRAWN, done_at=timezone.now())
    )


def fan_erase(*, fan: Fan, now: datetime | None = None) -> None:
    """Erase FAN's personal information (see the module's docstring for what and why).

    Safe to repeat: an erased fan is erased again to the same empty state."""
    now = now or timezone.now()
    with transaction.atomic():
        Order.objects.filter(fan=fan).update(
            contact_mobile="",
            contact_email="",
            recipient="",
            recipient_phone="",
            district="",
            street="",
            note="",
        )
        # Her number as the recipient of someone else's order (a gift sent to her) is hers too.
        if fan.mobile:
            Order.objects.filter(recipient_phone=fan.mobile).update(recipient_phone="")
        # A search for her that the team exported with is in the export's audit row.
        for contact in (fan.mobile, fan.email):
            if contact:
                FanExport.objects.filter(query__icontains=contact).update(query="***")
        FanNote.objects.filter(fan=fan).delete()
        fan.tags.clear()
        # Her WeChat identity too: the openid would otherwise sign her back in silently.
        Fan.objects.filter(pk=fan.pk).update(
            name="",
            mobile="",
            email="",
            wechat_openid="",
            wechat_unionid="",
            erased_at=fan.erased_at or now,
        )
        FanDataRequest.objects.filter(
            fan=fan, kind=FanDataRequest.Kind.DELETE, state=FanDataRequest.State.PENDING
        ).update(state=FanDataRequest.State.DONE, done_at=now)
        # Billing's public copies of her orders (parcel addresses, where notices went).
        moving = buyer_erase(
            tenant_id=current_shop_id(),
            order_numbers=list(Order.objects.filter(fan=fan).values_list("number", flat=True)),
            contacts=[fan.mobile, fan.email],
        )
    logger.info(
        "personal information of fan %s erased (%d parcels on their way keep their address)",
        fan.pk,
        moving,
    )


def fan_request_complete(*, request_id: int, now: datetime | None = None) -> bool:
    """Carry out one pending deletion request (the creator early, or the task when due); False
    if it is no longer pending. The row is locked, so two runs do it once."""
    with transaction.atomic():
        req = (
            FanDataRequest.objects.select_for_update()
            .filter(
                pk=request_id,
                kind=FanDataRequest.Kind.DELETE,
                state=FanDataRequest.State.PENDING,
            )
            .select_related("fan")
            .first()
        )
        if req is None:
            return False
        fan_erase(fan=req.fan, now=now)
    return True


def fan_requests_complete_due(*, now: datetime | None = None) -> int:
    """Carry out every deletion request of this shop that is due; returns how many."""
    from .selectors import data_requests_due

    done = 0
    for request_id in data_requests_due(now=now).values_list("pk", flat=True):
        if fan_request_complete(request_id=request_id, now=now):
            done += 1
    return done


# --- send a coupon to a segment ----------------------------------------------------------------

# At most this many fans per send: a segment bigger than that is narrowed first (a tag, a search).
COUPON_SEND_MAX = 5_000


def coupon_send_source() -> str:
    """The claim source the coupons app records for a coupon the creator sent from her fan
    list ("crm" once the coupons app knows it; its closest existing source until then)."""
    from storefront.coupons.services import SOURCES

    return "crm" if "crm" in SOURCES else "link"


def fans_coupon_send(*, coupon_id: int, fan_ids: list[int]) -> tuple[int, int]:
    """Put the coupon COUPON_ID in the wallet of each of FAN_IDS who does not hold it yet;
    returns (sent, skipped). Safe to repeat: a fan who has it is skipped, so a retried task
    gives no second coupon. The coupons app's own rules apply to each (live, public, its total
    and per-fan limits): a fan it refuses is skipped, and once it is all claimed the rest are."""
    from storefront.coupons.models import Coupon, CouponClaim
    from storefront.coupons.services import coupon_claim

    coupon = Coupon.objects.filter(pk=coupon_id).first()
    if coupon is None:
        return 0, len(fan_ids)
    holders = set(
        CouponClaim.objects.filter(coupon=coupon, fan_id__in=fan_ids).values_list(
            "fan_id", flat=True
        )
    )
    source = coupon_send_source()
    chosen = list(
        Fan.objects.filter(pk__in=fan_ids[:COUPON_SEND_MAX], erased_at__isnull=True).order_by("pk")
    )
    sent = 0
    for fan in chosen:
        if fan.pk in holders:
            continue
        try:
            coupon_claim(coupon=coupon, fan=fan, source=source)
        except ValidationError as exc:
            if exc.code in ("sold_out", "not_live", "reward_only"):
                break  # nobody else can get it either
        else:
            sent += 1
    return sent, len(fan_ids) - sent
