"""The list of open scans: listing folders off the GUI thread, the list panel, the background
queue that measures the whole list, review order and the folder's CSV export."""
