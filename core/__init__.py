"""rdjpeg: learned rate-distortion-optimized preprocessing for standard JPEG encoders."""

from .jpeg.simulator import DiffJPEG, JPEGSimulation, diff_jpeg, simulate_jpeg
from .jpeg.tables import quality_tables
from .models.lagrangian import estimate_lambda, fast_lambda
from .models.masking import AdaptiveMasking, adaptive_masking
from .models.prefilter import Prefilter, prefilter
from .models.rate import RateEstimator, estimate_bits
from .pipeline import encode, encode_to_size

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
    "encode_to_size",
    "estimate_bits",
    "estimate_lambda",
    "fast_lambda",
    "prefilter",
    "quality_tables",
    "simulate_jpeg",
]
