"""The colours of dltool's charts."""

#: Series colours: the Okabe-Ito hues (distinct for colour-blind readers; its black is kept for
#: markers and its yellow moved last, as it is faint on white), then tab10-like extras.
PALETTE = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (230, 159, 0), (204, 121, 167),
           (86, 180, 233), (140, 86, 75), (148, 103, 189), (240, 228, 66), (127, 127, 127),
           (188, 189, 34), (23, 190, 207), (214, 39, 40), (44, 160, 44), (227, 119, 194)]

BACKGROUND = (255, 255, 255)
TEXT = (34, 34, 34)
AXIS = (68, 68, 68)
GRID = (226, 226, 226)
MINOR_GRID = (243, 243, 243)


def colour(i: int) -> tuple:
    """The ``i``-th palette colour, cycling when ``i`` passes the end.

    Parameters
    ----------
    i : int
        Any integer (a class or cluster index).

    Returns
    -------
    tuple of int
        ``(r, g, b)``.
    """
    return PALETTE[int(i) % len(PALETTE)]
