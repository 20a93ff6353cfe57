"""Files in and out: scans (image files, DICOM, DICOMDIR, HC18's pixel-size CSVs) read into
pixels and their calibration, and every file fetalview writes written by one rule (never over a
scan or another output, atomically), with text made safe for CSVs and terminals."""
