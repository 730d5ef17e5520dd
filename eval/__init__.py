"""Quality and speed harness. Data in eval/data/; run via ``shegong eval ...`` or ``python -m eval.<name>``."""
