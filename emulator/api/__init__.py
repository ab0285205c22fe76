"""The platform API endpoints (``/v1/...``), one module per area of the seed."""
