"""KISI-Berichtswesen: quarterly workbooks in, validated and consolidated figures out."""

__version__ = "0.2.0"
