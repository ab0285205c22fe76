"""Client of the Dailybot Commands Platform API: one httpx pool, typed results, retries, tokens."""
