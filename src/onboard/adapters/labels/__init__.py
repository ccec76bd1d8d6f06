"""Print-ready labels of codes: the QR symbol as A2 wants it, and one label as SVG, PNG
or PDF (the sheet layouts and ZPL build on these)."""
