"""The PACS in the app: the node settings and Open from PACS dialogs, and sending results."""
