"""The quarterly workbook generator: spec in, an .xlsx for Excel and LibreOffice out."""

from pipeline.template.builder import build_templates, build_workbook, template_filename
from pipeline.template.model import Formula, Identity, WorkbookData

__all__ = [
    "Formula",
    "Identity",
    "WorkbookData",
    "build_templates",
    "build_workbook",
    "template_filename",
]
