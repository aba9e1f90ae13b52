"""The arithmetic of a sliding window along one axis, in one place: how many positions it takes,
and TensorFlow's "same" padding. Shared by the convolution kernels' wrappers (:mod:`dltool.core.conv`)
and the spec analyser (:mod:`dltool.core.convshape`). Pure Python: ``conv-shape`` imports no numpy.

With ``f_eff = d·(f − 1) + 1`` (dilation d):

- positions ``⌊(n + p_before + p_after − f_eff) / s⌋ + 1``;
- ``ceil_mode`` (pooling, as PyTorch): ``⌈·⌉ + 1``, but a last window that would start in the
  bottom / right padding is dropped;
- "same" (TensorFlow): ``⌈n / s⌉`` positions, total padding ``max((out − 1)·s + f_eff − n, 0)``, the
  odd pixel after (bottom / right).
"""


def effective_size(f: int, d: int = 1) -> int:
    """The extent of a window of ``f`` taps at dilation ``d``: ``d·(f − 1) + 1``."""
    return d * (f - 1) + 1


def window_count(n: int, f: int, s: int = 1, before: int = 0, after: int = 0, d: int = 1,
                 ceil_mode: bool = False) -> int:
    """Positions of the window along an axis of ``n`` padded by ``before`` and ``after``; zero or
    negative when the window does not fit (the formula's own value, which messages show)."""
    span = n + before + after - effective_size(f, d)
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + before:
        out -= 1
    return out


def same_padding(n: int, f: int, s: int = 1, d: int = 1) -> tuple:
    """TensorFlow's "same" padding along one axis: ``(before, after)`` for ``⌈n / s⌉`` positions."""
    out = -(-n // s)
    total = max((out - 1) * s + effective_size(f, d) - n, 0)
    return total // 2, total - total // 2
