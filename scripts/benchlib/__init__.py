"""Helpers of scripts/bench.py: seeded benchmark inboxes (`data`), measurements (`measure`),
profiling (`profile`) and the printed table (`table`)."""
