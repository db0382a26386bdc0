"""Networks: the subject-conditioned FiLM transformer denoiser and its parts.

The MLP/TCN baselines are in gaitjax.models.baselines (not imported here).
"""
from gaitjax.models.conditioning import FiLM
from gaitjax.models.conditioning import SpeedSubjectConditioner
from gaitjax.models.conditioning import TimestepEmbedding
from gaitjax.models.denoiser import Denoiser
from gaitjax.models.denoiser import GaitDiffusionModel
from gaitjax.models.denoiser import make_model
from gaitjax.models.denoiser import model_flops_breakdown
from gaitjax.models.denoiser import model_flops_per_example
from gaitjax.models.denoiser import TransformerBlock
from gaitjax.models.encoder import SubjectEncoder

__all__ = [
    "Denoiser", "FiLM", "GaitDiffusionModel", "SpeedSubjectConditioner",
    "SubjectEncoder", "TimestepEmbedding", "TransformerBlock", "make_model",
    "model_flops_breakdown", "model_flops_per_example",
]
