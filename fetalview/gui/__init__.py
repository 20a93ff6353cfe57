"""The desktop app (PySide6): a thin layer over ``fetalview.core``."""
