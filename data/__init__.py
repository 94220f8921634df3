"""simreal.data: labelled frames from randomized scenes (shards, streams, real images) and the localization test.

Submodules are imported on use (they pull in MuJoCo and torch): ``simreal.data.labels``, ``.generate``, ``.reader``,
``.stream``, ``.real_images``, ``.rollouts``, ``.sources``, ``.localization``, ``.experiment_localization``, ``.cli``.
"""
