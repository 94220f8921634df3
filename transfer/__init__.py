"""simreal.transfer: CycleGAN sim<->real observation translation that is fast enough for RL on a CPU.

Networks and presets (:mod:`.config`, :mod:`.networks`), losses including task and label consistency
(:mod:`.losses`), a seeded resumable trainer (:mod:`.trainer`), checkpoints (:mod:`.checkpoint`), Gymnasium
wrappers (:mod:`.wrapper`) and metrics (:mod:`.metrics`).
"""

from simreal.transfer.checkpoint import load_generator, save_checkpoint
from simreal.transfer.config import PRESETS, CycleGANConfig, CycleGANRun, DiscriminatorConfig, GeneratorConfig
from simreal.transfer.metrics import domain_classifier_test, segmentation_iou, task_error
from simreal.transfer.networks import PatchDiscriminator, ResnetGenerator
from simreal.transfer.trainer import CycleGANTrainer, train_cyclegan
from simreal.transfer.wrapper import CycleGANObservation, CycleGANVectorObservation, ImageTranslator

__all__ = [
    "PRESETS",
    "CycleGANConfig",
    "CycleGANObservation",
    "CycleGANRun",
    "CycleGANTrainer",
    "CycleGANVectorObservation",
    "DiscriminatorConfig",
    "GeneratorConfig",
    "ImageTranslator",
    "PatchDiscriminator",
    "ResnetGenerator",
    "domain_classifier_test",
    "load_generator",
    "save_checkpoint",
    "segmentation_iou",
    "task_error",
    "train_cyclegan",
]
