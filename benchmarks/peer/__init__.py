"""The baselines the runtime is measured against: the app a user would write by the docs on the
same stack (`app.py`) and a bare Chalice route (`bare.py`)."""
