"""Networks: the subject-conditioned FiLM transformer denoiser and its parts.

The MLP/TCN baselines are in gaitjax.models.baselines (not imported here).
"""
from gaitjax.models.conditioning import FiLM
from gaitjax.models.conditioning import SpeedSubjectConditioner
from gaitjax.models.conditioning import TimestepEmbedding
from gaitjax.models.denoiser import Denoiser
from gaitjax.models.denoiser import GaitDiffusionModel
from gaitjax.models.denoiser import make_model
from gaitjax.models.denoiser import TransformerBlock
from gaitjax.models.encoder import SubjectEncoder
from gaitjax.models.flops import model_flops_breakdown
from gaitjax.models.flops import model_flops_per_example

__all__ = [
    "Denoiser", "FiLM", "GaitDiffusionModel", "SpeedSubjectConditioner",
    "SubjectEncoder", "TimestepEmbedding", "TransformerBlock", "make_model",
    "model_flops_breakdown", "model_flops_per_example",
]
