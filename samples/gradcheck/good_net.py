"""A two-layer network written by hand, the course's way (C1W3): LINEAR -> RELU -> LINEAR -> SIGMOID.

    dltool gradcheck samples/gradcheck/good_net.py:forward_backward \\
        --params samples/gradcheck/params.npz --data samples/gradcheck/data.npz
"""

import numpy as np


def forward_backward(params, data):
    """Cost and gradients of the network on data["X"] (n_x, m), data["Y"] (1, m)."""
    X, Y = data["X"], data["Y"]
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[1]

    Z1 = W1 @ X + b1
    A1 = np.maximum(Z1, 0)
    Z2 = W2 @ A1 + b2
    A2 = 1 / (1 + np.exp(-Z2))
    cost = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))

    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * (Z1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = dZ1.sum(axis=1, keepdims=True) / m
    return cost, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
