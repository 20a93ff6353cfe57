"""Charts drawn with pyqtgraph, shared by the app's panels and the PDF reports (see
``growth_chart``). Above the core (they render the record's facts), below report and gui."""
