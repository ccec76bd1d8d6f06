"""The members' REST API under /api/v1 (SPEC §5.1)."""
