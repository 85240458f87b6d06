"""rdjpeg: learned rate-distortion-optimized preprocessing for standard JPEG encoders."""

from .simulator import DiffJPEG, JPEGSimulation, diff_jpeg, simulate_jpeg
from .tables import quality_tables

__version__ = "0.1.0"
__all__ = ["DiffJPEG", "JPEGSimulation", "__version__", "diff_jpeg", "quality_tables", "simulate_jpeg"]
