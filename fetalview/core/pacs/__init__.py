"""The PACS: a node's address and AE titles, and the DICOM network client (echo, store, find,
get) that sends results and opens studies."""
