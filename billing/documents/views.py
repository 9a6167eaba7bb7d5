"""Download a document through its signed link; the creator's statements in her shop's admin.

The download view is served on the platform site and on shop hosts (the buyer's invoice, the
creator's statement). On a shop's host it serves only that shop's documents, whatever the link.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from core.shop import current_shop, current_shop_id, in_shop

from .forms import StatementMonthForm
from .models import Invoice, Statement
from .selectors import statements_for_tenant
from .services import LinkExpired, document_from_token, document_link, statement_request


def download_filename(document: Statement | Invoice) -> str:
    if isinstance(document, Statement):
        return f"statement-{document.month:%Y-%m}.pdf"
    return f"invoice-{document.order_number}.pdf"


def download(request: HttpRequest, kind: str, pk: int, token: str) -> HttpResponseBase:
    try:
        document = document_from_token(kind=kind, pk=pk, token=token)
    except LinkExpired:
        return render(request, "documents/link_expired.html", status=410)
    if document is None or not document.file:
        raise Http404("no such document")
    # A shop's host serves its own documents only (a supplier's statement has no tenant).
    if in_shop() and document.tenant_id != current_shop_id():
        raise Http404("no such document")
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=download_filename(document),
        content_type="application/pdf",
    )
    # Signed links are personal and short-lived: no shared cache may keep the file.
    response["Cache-Control"] = "private, no-store"
    return response


def shop_statements(request: HttpRequest) -> HttpResponse:
    """The creator's monthly statements (Wagtail admin), and a form to ask for one."""
    # Money is the owner's (the shop roles grant storefront.view_money; billing names it by
    # string, being below storefront): editors and customer service never see statements.
    if not request.user.has_perm("storefront.view_money"):
        raise PermissionDenied
    tenant = current_shop()
    form = StatementMonthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            statement_request(
                kind=Statement.Kind.CREATOR, owner=tenant, month=form.cleaned_data["month"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Your statement is being prepared."))
            return redirect("documents_shop_statements")
    statements = list(statements_for_tenant(tenant=tenant)[:36])
    rows = [(s, document_link(document=s) if s.file else "") for s in statements]
    return TemplateResponse(
        request,
        "documents/admin/statements.html",
        {
            "page_title": _("Statements"),
            "header_icon": "doc-full",
            "rows": rows,
            "form": form,
        },
        status=400 if form.errors else 200,
    )
