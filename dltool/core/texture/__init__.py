"""Texture synthesis with Gram matrices of shallow random features (dltool gram-style --synthesize).

The model (Ustyuzhaninov, Brendel, Gatys & Bethge, "Texture synthesis using shallow convolutional
networks with random filters", 2016): one convolutional layer of random multi-scale filters and a
ReLU replaces the pretrained VGG of Gatys et al.; the style of an image is the Gram matrices of its
feature maps, and a texture is synthesized by gradient descent on the pixels of a noise image until
its Grams match. One job per module:

==================  ===========================================================================
:mod:`.bank`        the filters: random multi-scale (default), Gaussian derivatives, raw colours
:mod:`.engine`      all filters at once in the Fourier domain, and the adjoint; threads the
                    caller owns (``with workers() as pool``), BLAS on one thread meanwhile
:mod:`.objective`   features, per-position Gram targets, style / content costs and the
                    hand-written gradient (the formulas are in its docstring)
:mod:`.synthesis`   the optimization (L-BFGS or Adam on the pixels) and colour matching
==================  ===========================================================================

Everything public is importable from here, as before the split.
"""

from dltool.core.texture.bank import (DEFAULT_PER_SIZE, DEFAULT_SIZES, FEATURES, FilterBank, fixed_bank,
                                      make_bank, random_bank, rgb_bank)
from dltool.core.texture.engine import BLOCK, PRECISIONS, thread_count, workers
from dltool.core.texture.objective import (ALPHA, BETA, PADDINGS, Objective, blend_targets, features,
                                           gram_distance, loss_and_grad, resolve_padding, style_distance,
                                           style_targets, wraps_around)
from dltool.core.texture.synthesis import (DEFAULT_ITERATIONS, INITS, OPTIMIZERS, Synthesis, match_colors,
                                           synthesize)

__all__ = ["ALPHA", "BETA", "BLOCK", "DEFAULT_ITERATIONS", "DEFAULT_PER_SIZE", "DEFAULT_SIZES", "FEATURES",
           "INITS", "OPTIMIZERS", "PADDINGS", "PRECISIONS", "FilterBank", "Objective", "Synthesis",
           "blend_targets", "features", "fixed_bank", "gram_distance", "loss_and_grad", "make_bank",
           "match_colors", "random_bank", "resolve_padding", "rgb_bank", "style_distance", "style_targets",
           "synthesize", "thread_count", "workers", "wraps_around"]
