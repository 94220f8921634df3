"""simreal.experiments: the top layer, studies that combine the layers below and write results and reports.

Each experiment is a YAML file whose ``kind:`` names what runs it (``config``: the kinds, their frozen dataclasses,
the file reader; ``cli``: ``simreal experiment FILE.yaml``): ``policy_matrix`` (policy x domain x seed matrices;
``translators``: the translators its methods train and put in front of the policy), ``benchmark`` (several policy
matrices reported together, ``simreal benchmark``),
``localization`` (the Tobin et al. localization test: ``localization_training``, ``localization_evaluation``,
``localization_report``) and ``transfer`` (image translation measured by a frozen detector: ``transfer_training``,
``transfer_evaluation``, ``transfer_report``); the last two share ``block_frames`` (labelled frames of the Push
block and the detector read through each frame's camera). Submodules are imported on use (they pull in MuJoCo and
torch).
"""
