"""A fan's rights over her data in this shop (PIPL art. 45 and 47), from her account page
(我的, storefront/templates/storefront/fans/account_data.html): download everything the shop
holds about her, at once, as JSON; ask for her personal information to be deleted (done
within 15 days, see services.py); withdraw that request while it is pending.

All three are POSTs (CSRF-checked) by a signed-in fan only, at most VSTORE_RATES["fan_data"]
an hour per fan: each download is recorded for the creator's list of requests.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.clients import rate_limited, too_many_requests
from core.shop import current_shop
from storefront.models import Fan
from storefront.orders.selectors import SESSION_FAN

from .selectors import fan_data
from .services import fan_deletion_request, fan_deletion_withdraw, fan_download_record

ACCOUNT_URL = "/me/"


def _fan(request: HttpRequest) -> Fan | None:
    """The signed-in fan of this shop; an erased one is nobody any more."""
    fan_id = request.session.get(SESSION_FAN)
    if not isinstance(fan_id, int):
        return None
    return Fan.objects.filter(pk=fan_id, erased_at__isnull=True).first()


def _sign_in() -> HttpResponse:
    return redirect(f"/me/code/?next={ACCOUNT_URL}")


@never_cache
@require_POST
def data_download_view(request: HttpRequest) -> HttpResponse:
    fan = _fan(request)
    if fan is None:
        return _sign_in()
    if rate_limited(name="fan_data", value=f"fan:{fan.pk}"):
        return too_many_requests(request)
    fan_download_record(fan=fan)
    data = {
        "shop": getattr(current_shop(), "name", ""),
        "exported_at": timezone.now().isoformat(),
        **fan_data(fan=fan),
    }
    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body.encode("utf-8"), content_type="application/json; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="my-data-{stamp}.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def data_delete_view(request: HttpRequest) -> HttpResponse:
    fan = _fan(request)
    if fan is None:
        return _sign_in()
    if request.POST.get("confirm") != "1":
        messages.error(request, _("Tick the box to confirm that you want your data deleted."))
        return redirect(ACCOUNT_URL)
    if rate_limited(name="fan_data", value=f"fan:{fan.pk}"):
        return too_many_requests(request)
    try:
        req = fan_deletion_request(fan=fan)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _(
                "We received your request. Your personal information in this shop will be "
                "deleted by %(day)s."
            )
            % {"day": date_format(timezone.localtime(req.due_at), "DATE_FORMAT")},
        )
    return redirect(ACCOUNT_URL)


@require_POST
def data_delete_withdraw_view(request: HttpRequest) -> HttpResponse:
    fan = _fan(request)
    if fan is None:
        return _sign_in()
    if fan_deletion_withdraw(fan=fan):
        messages.success(request, _("Your deletion request was withdrawn."))
    return redirect(ACCOUNT_URL)
