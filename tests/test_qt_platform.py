"""A system without Qt's X11 libraries gets a message in words (issue 20 walkthrough 9): on a
fresh Debian Qt aborted with "xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb
platform plugin" and the process died; fetalview said nothing of what to install."""

from fetalview import cli, qt_platform

LDD = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f03)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-cursor.so.0 => not found
\tlibfoo-unheard.so.7 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f03)
"""


def test_the_libraries_ldd_cannot_find_are_read_once_each():
    assert qt_platform.not_found(LDD) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4",
                                          "libfoo-unheard.so.7"]


def test_the_message_names_the_libraries_and_the_debian_packages():
    text = qt_platform.missing_message(qt_platform.not_found(LDD))
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4, libfoo-unheard.so.7" in text
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in text
    assert "libfoo-unheard.so.7" in text.split("apt-get install")[1]  # named, not guessed
    assert "README" in text


def test_fetalview_says_it_and_exits_before_qt_starts(monkeypatch, capsys):
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(qt_platform, "missing_for_xcb", lambda: ["libxcb-cursor.so.0"])
    monkeypatch.setattr(cli, "missing_for_xcb", qt_platform.missing_for_xcb)
    assert cli.main([]) == 1
    assert "sudo apt-get install libxcb-cursor0" in capsys.readouterr().err


def test_only_an_x11_start_is_checked(monkeypatch):
    assert not qt_platform.uses_xcb({"QT_QPA_PLATFORM": "offscreen"})
    assert qt_platform.uses_xcb({"QT_QPA_PLATFORM": "xcb"})
    assert not qt_platform.uses_xcb({"QT_QPA_PLATFORM": "wayland;xcb"})


def test_this_machines_plugin_loads():
    """Where the libraries are installed (this machine), nothing is reported missing."""
    assert qt_platform.missing_for_xcb() == []
