"""The base of WarpRec's context-aware models with a deep part (DeepFM, WideAndDeep, DCN,
DCNv2, xDeepFM): the hyperparameters they share and their construction, around
:class:`~warprec_models_neural._context.FieldsRecommender`'s fields."""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen

from warprec_models_neural._context import FieldsRecommender

__all__ = ["DeepFieldsRecommender", "MLPSizes"]

MLPSizes = Annotated[list[Annotated[int, Gt(0), Le(65536)]], MinLen(1), MaxLen(16)]
"""The domain of ``mlp_hidden_size``: one to sixteen layer sizes."""


class DeepFieldsRecommender(FieldsRecommender):
    """A field model whose layers read every field's vector (an MLP over their
    concatenation at least): a subclass builds them in :meth:`build_field_layers`,
    which the constructor calls, and sets its own hyperparameters beside these."""

    needs_every_field = True

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the field vectors."""
    mlp_hidden_size: MLPSizes = [64, 32]
    """Output sizes of the MLP's layers (ReLU after each)."""
    dropout: Annotated[float, Ge(0), Lt(1)] = 0.0
    """Dropout probability before each MLP layer in training."""
    reg_weight: Annotated[float, Ge(0)] = 1e-4
    """Weight of the L2 penalty on the batch's embeddings and biases."""
    weight_decay: Annotated[float, Ge(0)] = 0.0
    """L2 penalty on the linear layers' weights, applied by the optimizer."""
    batch_size: int = 2048
    """Labelled (user, item) pairs per step."""
    epochs: int = 20
    """Passes over the training pairs."""
    learning_rate: float = 1e-3
    """Adam learning rate."""
    neg_samples: Annotated[int, Ge(0), Le(1000)] = 2
    """Unseen items drawn per training interaction as negatives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mlp_hidden_size = list(self.mlp_hidden_size)
        self.build_field_layers()
        self.apply(self._init_weights)
        self.to(self.device)
