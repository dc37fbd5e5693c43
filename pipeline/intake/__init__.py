"""Intake: everything received is stored by hash before it is parsed, then handed on."""

from pipeline.intake.collect import collect, direct, iter_collect, skipped
from pipeline.intake.model import TZ, Origin, Received
from pipeline.intake.store import Store, sha256_bytes, sha256_file

__all__ = ["TZ", "Origin", "Received", "Store", "collect", "direct", "iter_collect",
           "sha256_bytes", "sha256_file", "skipped"]
