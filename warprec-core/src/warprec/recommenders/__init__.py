"""Model API (:mod:`.base_recommender`), losses (:mod:`.losses`), the training loop
(:mod:`.trainer`) and batched top-k ranking (:mod:`.ranking`)."""
