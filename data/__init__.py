"""simreal.data: labelled frames from randomized scenes (shards, streams, rollouts, real images).

Submodules are imported on use (they pull in MuJoCo and torch): ``simreal.data.config`` (``DatasetConfig``,
``StreamConfig``), ``.generate``, ``.reader``, ``.stream``, ``.labels``, ``.real_images``, ``.rollouts``, ``.sources``,
``.cli``.
"""
