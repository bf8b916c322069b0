"""``{% load exports %}{% export_formats as formats %}``: the export formats for the links of any
page, from their one home (``datasets/exports.py``)."""

from __future__ import annotations

from django import template

from ..exports import FORMATS, ExportFormat

register = template.Library()


@register.simple_tag
def export_formats() -> list[tuple[str, ExportFormat]]:
    """(``file_format`` name, format) of every export, labeling tools' formats first."""
    return list(FORMATS.items())
