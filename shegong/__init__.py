"""社工助手's ground floor: settings, errors, logging and Chinese text helpers. It imports none of the
other packages; they all import it.

The pipeline and the front ends live in the sibling packages, each importing only those below it:
ingest (load + chunk) -> knowledge (embed, index, store, retrieve) -> assistant (answer, verify, llm)
-> service (roles, accounts, history) -> eval -> webapp / cli.
"""

__version__ = "0.1.0"
