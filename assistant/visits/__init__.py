"""智慧走访 and 一表做总结: visit records from jottings, the resident ledger, annual summaries."""
