"""Layout on clinic screens: at 1366x768 (a window 700 px tall) and at 1920x1080 with 125% and
150% scaling (1536x864 and 1280x720 logical pixels), every visible widget of the side panel
has its own place, the panel scrolls rather than squeezes, warnings never move the buttons and
the toolbar's buttons keep their places while the undo text changes."""

import subprocess
import sys
from dataclasses import replace

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox,
                               QLabel, QLineEdit, QToolButton, QWidget)

from fetalview.core.measure.biometry import OUTER_INNER

from .conftest import FakeSegmenter, open_and_wait, open_folder

LEAVES = (QLabel, QAbstractButton, QAbstractSlider, QComboBox, QLineEdit, QAbstractSpinBox)
#: Logical sizes a maximised window gets (screen less a taskbar): 1366x768 at 100%, 1920x1080
#: at 100%, 125% and 150%.
SCREENS = [(1366, 700), (1920, 1040), (1536, 824), (1280, 680)]


@pytest.fixture(autouse=True)
def dark_theme(qapp):
    """The app's own theme (its larger figures are what could overlap), undone afterwards."""
    from PySide6.QtWidgets import QApplication

    from fetalview.gui.theme import apply_dark_theme
    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    apply_dark_theme(qapp)
    yield
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    QApplication.setStyle(style)


def visible_leaves(root: QWidget) -> list[tuple[QWidget, QRect]]:
    """Every shown leaf widget under ``root`` with its rectangle in ``root``'s coordinates."""
    found = []
    for w in root.findChildren(QWidget):
        if isinstance(w, LEAVES) and w.isVisibleTo(root) and w.width() > 0 and w.height() > 0 \
                and not isinstance(w.parentWidget(), LEAVES):  # e.g. a combo box's own parts
            found.append((w, QRect(w.mapTo(root, w.rect().topLeft()), w.size())))
    return found


def overlaps(root: QWidget) -> list[str]:
    shown = visible_leaves(root)
    bad = []
    for i, (a, ra) in enumerate(shown):
        for b, rb in shown[i + 1:]:
            if ra.intersects(rb):
                bad.append(f"{type(a).__name__} {a.text() if hasattr(a, 'text') else ''!r} "
                           f"{ra} x {type(b).__name__} "
                           f"{b.text() if hasattr(b, 'text') else ''!r} {rb}")
    return bad


def clipped(root: QWidget) -> list[str]:
    """Labels whose text needs more height than they were given."""
    bad = []
    for w, _ in visible_leaves(root):
        if isinstance(w, QLabel) and w.wordWrap() and w.text():
            need = w.heightForWidth(w.width())
            if need > w.height() + 1:
                bad.append(f"{w.text()!r}: needs {need} px, has {w.height()}")
    return bad


@pytest.mark.parametrize("size", SCREENS)
def test_side_panel_widgets_never_overlap_or_clip(qtbot, make_window, settings, scans, size):
    settings.bpd_convention = OUTER_INNER  # the longest BPD labels
    window = make_window(FakeSegmenter(confidence=0.5))  # flagged: the longest state text
    assert window.minimumSizeHint().height() <= size[1]
    window.resize(*size)
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    document.push(replace(document.annotation, extra={
        **document.annotation.extra, "pregnancy": {"method": "weeks+days", "ga": "30+0"}}),
        "GA")
    qtbot.waitUntil(lambda: window.height() == size[1])
    window.panel.adjustSize()
    assert overlaps(window.panel) == []
    assert clipped(window.panel) == []
    scroll = window.panel_scroll
    assert scroll.viewport().height() <= window.height()
    for w, r in visible_leaves(window.panel):  # reachable by scrolling, inside the panel
        assert window.panel.rect().contains(r), (w, r)


def test_warnings_never_move_the_buttons(qtbot, make_window, scans, tmp_path):
    window = make_window(FakeSegmenter(confidence=0.95))
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    buttons = [b for b in window.panel.findChildren(QToolButton) if b.isVisible()]
    before = [b.mapTo(window.panel, b.rect().topLeft()) for b in buttons]
    document.push(replace(document.annotation, pixel_size=None, confidence=0.5,
                          ellipse=replace(document.annotation.ellipse, b=40.0)), "squash")
    assert window.panel.warning_slot.text().count("\n") >= 1  # pixels, and a far-off ratio
    assert [b.mapTo(window.panel, b.rect().topLeft()) for b in buttons] == before


def test_toolbar_buttons_have_icons_fixed_widths_and_stay_put(qtbot, window, scans):
    toolbar = window.toolbar
    buttons = [toolbar.widgetForAction(a) for a in toolbar.actions() if not a.isSeparator()]
    assert all(not b.icon().isNull() for b in buttons)
    assert all(b.minimumWidth() == b.maximumWidth() == b.width() for b in buttons)
    before = [b.pos() for b in buttons]
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    document.edit_ellipse(replace(document.annotation.ellipse, a=100.0), "Resize axis")
    undo = toolbar.widgetForAction(window.act_undo)
    assert undo.text() == "Undo" and "Resize axis" in window.act_undo.toolTip()
    assert [b.pos() for b in buttons] == before


SCALED = """
import sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from fetalview.gui.main_window import MainWindow
from fetalview.gui.settings import AppSettings
from fetalview.gui.theme import apply_dark_theme
from tests.gui.test_layout import overlaps, clipped
app = QApplication([])
apply_dark_theme(app)
w = MainWindow(AppSettings(QSettings(sys.argv[1], QSettings.IniFormat), sys.argv[2]))
w.resize(1280, 680)
w.show()
app.processEvents()
w.panel.adjustSize()
print(w.devicePixelRatio(), w.minimumSizeHint().height(), overlaps(w.panel), clipped(w.panel))
"""


@pytest.mark.parametrize("factor", ["1.25", "1.5"])
def test_real_scale_factor_keeps_the_panel_apart(tmp_path, factor):
    """QT_SCALE_FACTOR as a clinic PC sets it (it must be set before Qt starts: a new process).
    The script ends without closing its window, its threads running, and the output buffered
    (no PYTHONUNBUFFERED, as in a plain shell): it must still exit cleanly, its print kept."""
    import os
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env.update(QT_SCALE_FACTOR=factor, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", SCALED, str(tmp_path / "s.ini"),
                          str(tmp_path / "data")], env=env, capture_output=True, text=True,
                         timeout=120, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__)))))
    assert out.returncode == 0 and "QThread: Destroyed" not in out.stderr, out.stderr
    ratio, min_height, bad, cut = out.stdout.strip().splitlines()[-1].split(" ", 3)
    assert float(ratio) == pytest.approx(float(factor))
    assert int(min_height) <= 680
    assert bad.startswith("[]") and cut.endswith("[]"), out.stdout


def shown_rows(panel) -> list[tuple[str, ...]]:
    """The lines each row of the scan list paints, after any elision, each checked to fit the
    width the row's text is given (and the row to lie within the list's viewport)."""
    from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

    rows = []
    margin = 2 * (panel.style().pixelMetric(QStyle.PM_FocusFrameHMargin, None, panel) + 1)
    for i in range(panel.count()):
        index = panel.indexFromItem(panel.item(i))
        option = QStyleOptionViewItem()
        panel.initViewItemOption(option)
        option.rect = panel.visualRect(index)
        assert 0 <= option.rect.left() and option.rect.right() < panel.viewport().width()
        panel.itemDelegateForIndex(index).initStyleOption(option, index)
        room = panel.style().subElementRect(QStyle.SE_ItemViewItemText, option, panel).width()
        lines = tuple(option.text.split("\u2028"))
        for line in lines:
            assert option.fontMetrics.horizontalAdvance(line) <= room - margin, (line, room)
        rows.append(lines)
    return rows


@pytest.mark.parametrize("size", SCREENS[:2])
def test_a_confirmed_scan_shows_its_state_in_full_in_the_list(qtbot, make_window, scans, size):
    """The file name gives way (elided, whole in the tooltip), never the state and the HC."""
    long_name = scans / "IM_20261127_083412_0007_HC_transthalamic_plane.png"
    long_name.write_bytes((scans / "050_HC.png").read_bytes())
    window = make_window(FakeSegmenter(confidence=0.95))
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0])
    document = open_and_wait(qtbot, window, long_name)
    assert window.session.sign_off("Dr. Alexandra Montgomery-Smith")
    open_folder(qtbot, window, scans)
    panel = window.folder_panel
    qtbot.waitUntil(lambda: panel.count() == 3)
    row = panel.row(panel._rows[long_name])  # noqa: SLF001
    name, state = shown_rows(panel)[row]
    hc = document.measurement().lines()[0].split("(")[0].split()
    assert state.split()[:len(hc) + 2] == ["confirmed", "·", *hc]
    assert name.startswith("IM_2026") and name.endswith("plane.png") and "…" in name
    assert str(long_name) in panel._rows[long_name].toolTip()  # noqa: SLF001
    assert not panel.horizontalScrollBar().isVisible()


def test_the_scan_list_widens_on_a_wide_screen_and_keeps_the_clinicians_width(
        qtbot, make_window, fake, settings, qapp):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget

    window = make_window(fake)
    scans = window.findChild(QDockWidget, "Scans")
    window.resize(1366, 700)
    qtbot.waitUntil(lambda: scans.width() == 255)  # its share at 1366 px, as before
    window.resize(1920, 1040)  # maximised on a wide screen after it was first shown
    qtbot.waitUntil(lambda: scans.width() == 320)  # a sixth: whole file names
    window.resizeDocks([scans], [290], Qt.Horizontal)  # the clinician drags its edge
    qtbot.waitUntil(lambda: scans.width() == 290)
    window.resize(1700, 1000)
    qapp.processEvents()
    assert scans.width() == 290  # theirs from now on
    window.close()
    assert settings.window_layout is not None  # remembered for the next start
    again = make_window(fake)
    assert again._layout_restored
    again.resize(1900, 1040)
    qapp.processEvents()
    assert again.findChild(QDockWidget, "Scans").width() != 1900 // 6  # not fitted over theirs


def test_a_first_window_on_a_small_screen_is_maximised(qtbot, run_app):
    """Without a remembered layout the window opened at 1360x860, taller than a 1366x768
    laptop: the status bar (the model, "Measuring the folder") lay below the screen's edge.
    The offscreen screen is 800x600."""
    window = run_app([])
    available = window.screen().availableGeometry()
    assert available.height() < 860  # else this test proves nothing
    assert window.isMaximized()
    qtbot.waitUntil(lambda: window.height() <= available.height())


def test_the_pixel_size_source_of_an_hc18_csv_is_not_clipped(qtbot, make_window, scans):
    """HC18's own CSV name made the source wrap to a third line in a slot of two: at 1366x768
    the clinician saw "source: CSV" and half a line of the file's name."""
    (scans / "samples_pixel_size_and_HC.csv").rename(
        scans / "training_set_pixel_size_and_HC.csv")
    window = make_window(FakeSegmenter())
    window.resize(*SCREENS[0])
    open_and_wait(qtbot, window, scans / "050_HC.png")
    qtbot.waitUntil(lambda: window.height() == SCREENS[0][1])
    window.panel.adjustSize()
    assert "training_set_pixel_size_and_HC.csv" in window.panel.pixel_label.text()
    assert clipped(window.panel) == []


def shown_in_viewport(scroll, widget) -> bool:
    """Whether ``widget`` lies wholly inside the scroll area's viewport as it is scrolled."""
    top_left = widget.mapTo(scroll.viewport(), widget.rect().topLeft())
    return scroll.viewport().rect().contains(QRect(top_left, widget.size()))


def test_hc_and_the_pixel_size_source_are_seen_together_at_1366x768(qtbot, make_window, scans):
    """The pixel size (and where it came from) decides every millimetre shown: at 1366x768 it
    lay below the growth box, so HC and its calibration were never on screen together."""
    window = make_window(FakeSegmenter(confidence=0.5))  # flagged: the longest texts
    window.resize(*SCREENS[0])
    open_and_wait(qtbot, window, scans / "050_HC.png")
    qtbot.waitUntil(lambda: window.height() == SCREENS[0][1])
    window.panel.adjustSize()
    scroll = window.panel_scroll
    assert scroll.verticalScrollBar().value() == 0
    assert "source:" in window.panel.pixel_label.text()
    assert shown_in_viewport(scroll, window.panel.value_labels[0])
    assert shown_in_viewport(scroll, window.panel.pixel_label)


LAPTOP_150 = """
import sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from fetalview.gui.main_window import MainWindow
from fetalview.gui.settings import AppSettings
from fetalview.gui.theme import apply_dark_theme
app = QApplication([])
apply_dark_theme(app)
w = MainWindow(AppSettings(QSettings(sys.argv[1], QSettings.IniFormat), sys.argv[2]))
w.resize(910, 480)  # 1366x768 at 150%, less a taskbar, in logical pixels
w.show()
app.processEvents()
bar = w.toolbar
hidden = [a.iconText() for a in bar.actions() if not a.isSeparator() and not (
    bar.widgetForAction(a).isVisible()
    and bar.rect().contains(bar.widgetForAction(a).geometry()))]
print(w.devicePixelRatio(), w.width(), "|".join(hidden) or "-", w.stack.width())
w.close()
"""


def test_at_1366x768_and_150_percent_every_toolbar_button_shows_and_the_scan_has_room(tmp_path):
    """At 150% (1366x768 laptops) Redo, Export and Fit hid behind the toolbar's overflow, and
    the scan got about 35% of the window's width (the scan list kept its 1366 px floor)."""
    import os
    env = {**os.environ, "QT_SCALE_FACTOR": "1.5", "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", LAPTOP_150, str(tmp_path / "s.ini"),
                          str(tmp_path / "data")], env=env, capture_output=True, text=True,
                         timeout=120, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__)))))
    ratio, width, hidden, scan = out.stdout.strip().splitlines()[-1].split(" ")
    assert float(ratio) == pytest.approx(1.5) and int(width) == 910
    assert hidden == "-", f"behind the toolbar's overflow: {hidden}"
    assert int(scan) / int(width) >= 0.42, f"the scan gets {int(scan) / int(width):.0%}"


def access_keys(actions) -> dict[str, list[str]]:
    """Each access key (the letter after a single '&') -> the texts that use it."""
    import re
    keys: dict[str, list[str]] = {}
    for action in actions:
        match = re.search(r"(?<!&)&([^&\s])", action.text())
        if match and not action.isSeparator():
            keys.setdefault(match.group(1).lower(), []).append(action.text())
    return keys


def test_every_menu_gives_each_item_its_own_access_key(window):
    """Four File items shared Alt+C: the key did the first and only cycled through the rest."""
    menus = [(window.menuBar(), window.menuBar().actions())]
    while menus:
        owner, actions = menus.pop()
        shared = {k: texts for k, texts in access_keys(actions).items() if len(texts) > 1}
        assert not shared, f"{owner.title() if hasattr(owner, 'title') else 'menu bar'}: {shared}"
        menus += [(a.menu(), a.menu().actions()) for a in actions if a.menu() is not None]


def test_a_first_window_fits_the_screen_even_where_nothing_maximises_it(qtbot, run_app):
    """Without a window manager nobody acts on "maximised": the first window stayed 1360x860
    on a 768 px screen, its status bar and the panel's foot off-screen. The offscreen screen
    is 800x800 (narrower than the window's least width); the size the window keeps when not
    maximised must fit it too."""
    window = run_app([])
    available, normal = window.screen().availableGeometry(), window.normalGeometry()
    assert available.top() <= normal.top() and normal.bottom() <= available.bottom(), normal
    assert normal.width() <= max(available.width(), window.minimumSizeHint().width())


def remembered_on(settings, make_window, fake, qtbot, size, screen) -> None:
    """A layout remembered from a window of ``size`` on a screen of ``screen`` (w, h)."""
    from PySide6.QtCore import QSize
    window = make_window(fake)
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0])
    window.close()
    settings.window_screen = QSize(*screen)


def test_a_window_that_filled_a_smaller_screen_opens_maximised(
        qtbot, run_app, make_window, fake, settings):
    """A window remembered at 1366 wide (the laptop's whole screen) opened that small on a
    1920x1080 screen: a grown screen gets a maximised window (its old size one click away)."""
    remembered_on(settings, make_window, fake, qtbot, (850, 450), (860, 480))
    window = run_app([])
    assert window._layout_restored and window.isMaximized()


def test_a_window_remembered_on_the_same_screen_keeps_its_size(
        qtbot, run_app, make_window, fake, settings):
    available = screen_size()
    remembered_on(settings, make_window, fake, qtbot, (850, 450), available)
    window = run_app([])
    assert window._layout_restored and not window.isMaximized()
    assert window.height() == 450


def screen_size() -> tuple[int, int]:
    from PySide6.QtWidgets import QApplication
    size = QApplication.primaryScreen().availableGeometry().size()
    return size.width(), size.height()


def test_the_grown_screen_rule():
    from PySide6.QtCore import QSize

    from fetalview.gui.main_window import screen_grew
    laptop, desktop = QSize(1366, 728), QSize(1920, 1040)
    assert screen_grew(laptop, desktop, QSize(1366, 700))  # filled the laptop's screen
    assert not screen_grew(laptop, desktop, QSize(900, 600))  # a small window, by choice
    assert not screen_grew(desktop, desktop, QSize(1366, 700))  # the same screen
    assert not screen_grew(desktop, laptop, QSize(1900, 1000))  # shrunk: Qt fits it
    assert not screen_grew(None, desktop, QSize(1366, 700))  # remembered before this rule
