"""simreal.experiments: the top layer, studies that combine the layers below and write results and reports.

``policy_matrix`` (policy x domain x seed matrices from ``configs/experiments/*.yaml``), ``localization`` (the
Tobin et al. localization test and its ``localization_report``), ``transfer`` (image translation measured by a
frozen detector, with ``transfer_report``), and ``cli`` (the ``simreal experiment ...`` entries). Submodules are
imported on use (they pull in MuJoCo and torch).
"""
