"""The supplier's monthly statements in the supplier portal (/supplier/statements/).

Only the logged-in supplier's own statements are listed; each download is a signed link that
names one statement (billing.documents.services.document_link).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from billing.documents.forms import StatementMonthForm
from billing.documents.models import Statement
from billing.documents.selectors import statements_for_supplier
from billing.documents.services import document_link, statement_request
from catalog.models import Supplier

from .supplier_views import supplier_required


@supplier_required
def statements(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    form = StatementMonthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            statement_request(
                kind=Statement.Kind.SUPPLIER, owner=supplier, month=form.cleaned_data["month"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Your statement is being prepared."))
            return redirect("supplier:statements")
    rows = [
        (s, document_link(document=s) if s.file else "")
        for s in statements_for_supplier(supplier=supplier)[:36]
    ]
    return render(
        request,
        "documents/supplier_statements.html",
        {"supplier": supplier, "rows": rows, "form": form},
        status=400 if form.errors else 200,
    )
