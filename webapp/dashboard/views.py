from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from . import selectors


@staff_member_required
def dashboard(request):
    return render(request, "dashboard/dashboard.html", selectors.overview())
