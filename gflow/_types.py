"""Array shapes, named once (jaxtyping). Models, data and trajectories annotate with these; the annotations
document shapes for readers and type checkers — modules import this file only under ``TYPE_CHECKING``,
so importing gflow does not import JAX.

Dimension names: ``n`` samples, ``d`` input dimension, ``m`` neurons (Model R), ``k`` classes, ``w`` hidden
width (Model F), ``t`` saved times; ``...`` any leading axes (e.g. a time axis).
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Array, Bool, Float, Int

AnyArray = Array | np.ndarray

Inputs = Float[AnyArray, "n d"]            # the samples x_1 … x_n as rows
Targets = Float[AnyArray, "n"]             # regression labels y_k
Labels = Int[AnyArray, "n"]                # class labels in 0 … k−1
OneHot = Float[AnyArray, "n k"]            # one-hot (or weighted) class indicators
Logits = Float[AnyArray, "... n k"]        # network outputs f(x)
Margins = Float[AnyArray, "... n"]         # f_y(x) − max_{j≠y} f_j(x)

OuterWeights = Float[AnyArray, "... m"]    # Model R: a
InnerWeights = Float[AnyArray, "... m d"]  # Model R: W (rows w_j)
LogRadii = Float[AnyArray, "... m"]        # Model R: ρ_j = ln ‖w_j‖
Directions = Float[AnyArray, "... m d"]    # Model R: w̄_j (unit rows)
Signs = Float[AnyArray, "m"]               # Model R: s_j = sign(a_j) (balanced init)

ClassWeights = Float[AnyArray, "... k d"]  # Model H: W
Biases = Float[AnyArray, "... k"]          # Model H: b

Times = Float[np.ndarray, "t"]
Mask = Bool[AnyArray, "..."]
