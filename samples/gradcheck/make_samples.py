"""Writes params.npz (W1 (5, 4), b1 (5, 1), W2 (1, 5), b2 (1, 1)) and data.npz (X (4, 16), Y (1, 16))
for the good_net / broken_net examples. Seeded: the same files on every run.

    python samples/gradcheck/make_samples.py
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
rng = np.random.default_rng(1)
params = {"W1": rng.standard_normal((5, 4)) * np.sqrt(2 / 4), "b1": 0.1 * rng.standard_normal((5, 1)),
          "W2": rng.standard_normal((1, 5)) * np.sqrt(2 / 5), "b2": 0.1 * rng.standard_normal((1, 1))}
X = rng.standard_normal((4, 16))
Y = (rng.random((1, 16)) < 0.5).astype(float)
np.savez(HERE / "params.npz", **params)
np.savez(HERE / "data.npz", X=X, Y=Y)
print(f"wrote {HERE / 'params.npz'} and {HERE / 'data.npz'}")
