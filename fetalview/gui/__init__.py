"""The desktop app (PySide6). Importing it first guards against a PySide6 reference-count bug
on Python < 3.12 (see ``refcount_guard``)."""

from .refcount_guard import immortalize_singletons

immortalize_singletons()
