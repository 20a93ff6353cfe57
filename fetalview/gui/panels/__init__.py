"""The side panels and strips around the scan: measurements, pregnancy and growth, messages,
the empty state and the toolbar. They show what they are given and compute nothing."""
