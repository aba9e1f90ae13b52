"""The computation: numpy and numba only. No click, rich, pillow, printing or files here.

numba is imported lazily, by the ``*_kernels`` modules, and only on inputs large enough to pay
for it: importing this package does not import numba.
"""
