"""RRAM crossbar variation and CorrectNet's answers to it: the variation model, error suppression (Lipschitz
regularization), error compensation, the noise-injection baseline, and the report of a `variation` study."""

from __future__ import annotations

from studies.variation.compensation import Compensated, Compensation, Overhead, overhead
from studies.variation.lipschitz import LipschitzLoss, lipschitz_lambda, lipschitz_penalty, spectral_norm
from studies.variation.model import MAPPINGS, Crossbar, McAccuracy, Variation, mc_accuracy

__all__ = ["MAPPINGS", "Compensated", "Compensation", "Crossbar", "LipschitzLoss", "McAccuracy", "Overhead",
           "Variation", "lipschitz_lambda", "lipschitz_penalty", "mc_accuracy", "overhead", "spectral_norm"]
