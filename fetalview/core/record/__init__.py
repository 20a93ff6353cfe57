"""The record of a scan: the sidecar that keeps a clinician's edits beside the scan (its format,
and the store that reads and saves it), the review state and sign-off, the saved calipers, and
the one result record that every output renders."""
