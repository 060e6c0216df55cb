"""Export a trained checkpoint to a self-describing model bundle (torch only in exporter.py)."""
