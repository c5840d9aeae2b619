"""`make bench`: throughput of the API with authorization on and off (DESIGN.md §3)."""
