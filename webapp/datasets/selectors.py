"""Reads of datasets, always through the owner: someone else's dataset does not exist (404)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import Dataset


def datasets_of(user) -> QuerySet[Dataset]:
    return Dataset.objects.filter(owner=user)


def dataset_of(user, pk: int) -> Dataset:
    return get_object_or_404(datasets_of(user), pk=pk)
