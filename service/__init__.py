"""The service layer: one permission-checked facade that the web app and the CLI both call.

    service/service.py          Service: start-up jobs, asking, searching, conversations, accounts, models
    service/knowledge_bases.py  its knowledge-base actions (one routing of files to KBs)
    service/accounts.py         local accounts, roles and what each role may do (``require``)
    service/history.py          conversations and feedback
    service/appdb.py            the app's own database, $SHEGONG_HOME/app.sqlite
"""

from service.accounts import SYSTEM_USER, User
from service.service import Service, get_service

__all__ = ["SYSTEM_USER", "Service", "User", "get_service"]
