"""The creator's side of custom domains, inside her shop's Wagtail admin."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from core.shop import current_shop

from . import services
from .forms import DomainForm
from .models import DomainClaim


def domains(request):
    """List, add and verify the shop's own domains, and choose the canonical host."""
    tenant = current_shop()
    # The shop's owner only (the shop roles grant storefront.manage_shop; tenants names it by
    # string, being below storefront): nobody else has a say over the shop's hosts.
    if not request.user.has_perm("storefront.manage_shop"):
        raise PermissionDenied
    form = DomainForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "add" and form.is_valid():
                services.domain_claim_add(
                    tenant=tenant, domain=form.cleaned_data["domain"], actor=None
                )
                messages.success(request, _("Domain added: publish the TXT record, then verify."))
                return redirect("shop_domains")
            if action == "verify":
                claim = get_object_or_404(DomainClaim, pk=request.POST.get("claim"), tenant=tenant)
                if services.domain_claim_verify(claim=claim, actor=None):
                    messages.success(request, _("Verified: your shop now answers on this domain."))
                else:
                    messages.error(
                        request,
                        _(
                            "The TXT record was not found yet. DNS changes can "
                            "take a while; try again later."
                        ),
                    )
                return redirect("shop_domains")
            if action == "canonical":
                host = request.POST.get("domain", "")
                get_object_or_404(tenant.domains, domain=host)
                services.domain_make_canonical(tenant=tenant, domain=host, actor=None)
                messages.success(request, _("Links now use %(host)s.") % {"host": host})
                return redirect("shop_domains")
        except ValidationError as error:
            form.add_error("domain" if action == "add" else None, error)
    return TemplateResponse(
        request,
        "tenants/admin_domains.html",
        {
            "page_title": _("Domains"),
            "header_icon": "site",
            "form": form,
            "domains": tenant.domains.order_by("-is_primary", "domain"),
            "claims": tenant.domain_claims.filter(status=DomainClaim.Status.PENDING),
        },
    )
