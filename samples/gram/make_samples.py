"""Writes small activation arrays (n_H, n_W, n_C) for the gram-style examples: style.npy,
generated.npy, content.npy, and layers.npz (three layers of a made-up network). Seeded.

    python samples/gram/make_samples.py
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
rng = np.random.default_rng(3)
relu = lambda a: np.maximum(a, 0.0)  # noqa: E731 - activations after a ReLU, as in the course
np.save(HERE / "style.npy", relu(rng.standard_normal((4, 4, 3))))
np.save(HERE / "generated.npy", relu(rng.standard_normal((4, 4, 3))))
np.save(HERE / "content.npy", relu(rng.standard_normal((4, 4, 3))))
np.savez(HERE / "layers.npz", conv1=relu(rng.standard_normal((16, 16, 8))),
         conv2=relu(rng.standard_normal((8, 8, 16))), conv3=relu(rng.standard_normal((4, 4, 32))))
print(f"wrote style.npy, generated.npy, content.npy and layers.npz to {HERE}")
