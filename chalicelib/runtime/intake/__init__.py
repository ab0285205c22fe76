"""The intake of deliveries: the HTTP values, the gates, parsing, the pipeline and its worker.

`pipeline.Intake` is the one path every delivery takes; `chalice_adapter` is the only module
here that knows Chalice.
"""
