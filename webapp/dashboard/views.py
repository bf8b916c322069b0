from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from ..runs.services import fail_stale_runs
from . import selectors


@staff_member_required
def dashboard(request):
    fail_stale_runs()
    return render(request, "dashboard/dashboard.html", selectors.overview())
