"""社工助手: shared settings, errors and the command line.

The pipeline itself lives in the sibling packages:
ingest (load + chunk) -> knowledge (embed, index, retrieve) -> assistant (answer, verify, llm).
"""

__version__ = "0.1.0"
