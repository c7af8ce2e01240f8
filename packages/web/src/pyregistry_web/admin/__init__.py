"""The server-rendered admin UI and the public landing page."""
