"""Reading and writing formats (CSV, JSON, COCO, NPY, images). No numba here."""
