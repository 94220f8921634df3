"""simreal.perception: models that read images, between the data layer and the agents.

``detector`` (a heatmap point detector: image -> an object's pixel), ``localization`` (the regression CNN: image ->
table position), ``triangulation`` (pixels -> world points with calibrated cameras), ``goal_perception`` (detectors
per calibrated camera and a VecEnv wrapper that gives a pixel policy the triangulated goal), ``lane_perception``
(a driving image -> lane geometry regressor and its VecEnv wrapper), ``lane_detection`` (the calibrated
alternative: the centre line's pixels in fixed image rows, lifted to the road with the car's camera calibration,
and its VecEnv wrapper), ``pretraining``
(labelled frames and detector pre-training for a policy's perception), and what they share: ``images`` (the one
uint8 <-> ``[-1, 1]`` tensor convention and the augmentation), ``training`` (the one training loop) and
``checkpoint`` (the one checkpoint format). Submodules are
imported on use (they pull in torch).
"""
