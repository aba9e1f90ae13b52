"""The same network with the two bugs the course plants in its gradient-checking exercise (C2W1):
dW2 twice too large and db1 with 4/m instead of 1/m. gradcheck exits 1 and names the blocks.

    dltool gradcheck samples/gradcheck/broken_net.py:forward_backward \\
        --params samples/gradcheck/params.npz --data samples/gradcheck/data.npz
"""

import numpy as np


def forward_backward(params, data):
    X, Y = data["X"], data["Y"]
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[1]

    Z1 = W1 @ X + b1
    A1 = np.maximum(Z1, 0)
    Z2 = W2 @ A1 + b2
    A2 = 1 / (1 + np.exp(-Z2))
    cost = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))

    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m * 2  # bug: a factor 2
    db2 = dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * (Z1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = 4.0 / m * dZ1.sum(axis=1, keepdims=True)  # bug: 4/m
    return cost, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
