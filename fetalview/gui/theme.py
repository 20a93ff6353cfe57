"""A dark theme for dim reading rooms: low glare around the scan, bright numbers."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#4fa3e0"
WARNING = "#f0a030"
ERROR_BG = "#7a2020"

_ROLES = {
    QPalette.Window: "#202225",
    QPalette.WindowText: "#e4e4e4",
    QPalette.Base: "#17181a",
    QPalette.AlternateBase: "#26282b",
    QPalette.ToolTipBase: "#2c2e31",
    QPalette.ToolTipText: "#e4e4e4",
    QPalette.Text: "#e4e4e4",
    QPalette.Button: "#2c2e31",
    QPalette.ButtonText: "#e4e4e4",
    QPalette.BrightText: "#ffffff",
    QPalette.Highlight: ACCENT,
    QPalette.HighlightedText: "#101010",
    QPalette.Link: ACCENT,
    QPalette.PlaceholderText: "#8a8a8a",
}

STYLE = f"""
QToolTip {{ border: 1px solid #555; }}
QDockWidget::title {{ padding: 4px; background: #2a2c2f; }}
QLabel#measureValue {{ font-size: 20px; font-weight: 600; color: #ffffff; }}
QLabel#stateLabel {{ font-weight: 600; }}
QLabel#warning {{ color: {WARNING}; }}
QFrame#messageBar {{ background: {ERROR_BG}; border-radius: 3px; }}
QFrame#messageBar QLabel {{ color: #ffffff; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QToolButton:checked {{ background: #2f5575; border: 1px solid {ACCENT}; border-radius: 3px; }}
"""


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in _ROLES.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        palette.setColor(QPalette.Disabled, role, QColor("#6c6c6c"))
    app.setPalette(palette)
    app.setStyleSheet(STYLE)
