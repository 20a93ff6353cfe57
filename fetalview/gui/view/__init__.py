"""The scan on screen: the graphics view, the editable ellipse and caliper items with their
handles, click tools, display levels and the cine frame slider."""
