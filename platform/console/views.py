from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.selectors import shop_counts


@staff_member_required(login_url="login")
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "console/dashboard.html", {"shops": shop_counts()})
