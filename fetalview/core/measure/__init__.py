"""Measuring: the head ellipse's geometry, the pixel size that turns pixels into millimetres,
HC/BPD/OFD with their conventions, the skull edges an outer-to-inner BPD sits on, dragging the
ellipse's handles, and gestational age and growth centiles. Pure maths, no files."""
