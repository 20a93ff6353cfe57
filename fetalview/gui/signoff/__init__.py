"""Signing scans off in the window: what a confirmation takes from the screen (``confirm``) and
the keys that give it wherever the keyboard is (``keys``)."""
