"""rdjpeg: learned rate-distortion-optimized preprocessing for standard JPEG encoders."""

from .codec import encode
from .lagrangian import estimate_lambda, fast_lambda
from .masking import AdaptiveMasking, adaptive_masking
from .prefilter import Prefilter, prefilter
from .rate import RateEstimator, estimate_bits
from .simulator import DiffJPEG, JPEGSimulation, diff_jpeg, simulate_jpeg
from .tables import quality_tables

__version__ = "0.1.0"
__all__ = [
    "AdaptiveMasking",
    "DiffJPEG",
    "JPEGSimulation",
    "Prefilter",
    "RateEstimator",
    "__version__",
    "adaptive_masking",
    "diff_jpeg",
    "encode",
    "estimate_bits",
    "estimate_lambda",
    "fast_lambda",
    "prefilter",
    "quality_tables",
    "simulate_jpeg",
]
