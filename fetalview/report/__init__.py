"""The PDF report, drawn with Qt's painting classes (QtGui, no widgets): importable by the
command line and the app alike, kept out of ``fetalview.core`` because it needs Qt."""
