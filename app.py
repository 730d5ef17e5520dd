"""社工助手 web app. Run: ``python app.py`` (opens on settings.app_host:app_port).

The app itself is the ``webapp`` package (one module per tab); this file only starts it, as
``python -m webapp`` and ``shegong app`` do.
"""

from webapp.launch import main

if __name__ == "__main__":
    main()
