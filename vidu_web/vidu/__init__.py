"""A small client for the Vidu video API: model table, requests, typed answers and errors.

Plain Python and requests; never imports Django.
"""

from .bodies import ExtendRequest, KeyFrame, MultiframeRequest, UpscaleRequest
from .catalog import ENDPOINTS, MODELS, MODES, ModelSpec, models_for, validate
from .client import PRESETS, Provider, ViduClient
from .errors import ViduError
from .types import CreateResult, Creation, TaskResult, VideoInfo

__all__ = [
    "ENDPOINTS", "ExtendRequest", "KeyFrame", "MultiframeRequest", "UpscaleRequest", "MODELS", "MODES", "ModelSpec", "models_for", "validate", "PRESETS", "Provider", "ViduClient",
    "ViduError", "CreateResult", "Creation", "TaskResult", "VideoInfo",
]
