"""``{% load exports %}{% export_formats as formats %}``: the export formats (key, label) for the
links of any page, from their one home (``datasets/exports.py``)."""

from __future__ import annotations

from django import template

from ..exports import FORMATS

register = template.Library()


@register.simple_tag
def export_formats() -> list[tuple[str, str]]:
    """(format key, link text) of every export."""
    return [(key, spec.label) for key, spec in FORMATS.items()]
