"""``python -m webapp`` starts the web app (``shegong app`` runs this)."""

from webapp.launch import main

main()
