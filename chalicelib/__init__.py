"""Everything deployed with the Chalice app: settings, observability, platform client, runtime."""
