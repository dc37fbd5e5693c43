"""Registry rules (REG_*) are checked by pipeline.registry; declared here for the catalogue."""

from pipeline.registry import RULES as REGISTRY_RULES
from pipeline.rules import declare

for _id, (_severity, _title) in REGISTRY_RULES.items():
    declare(_id, _severity, _title, _title, "Vertrag Abschnitt 1 (Projektverzeichnis)",
            "verzeichnis")
