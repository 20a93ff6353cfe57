"""Results out: renderers of a scan's result record (annotated image, CSV rows, DICOM
Structured Report and Secondary Capture). They format; they never compute or re-word a fact."""
