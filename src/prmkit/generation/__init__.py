"""Generation backends behind one interface: transformers, OpenAI-compatible servers, vLLM.

``load_backend(GenerationConfig(...))`` builds one; backend modules are imported on first use, so
importing this package does not import torch.
"""

from prmkit.generation.base import (
    BACKENDS,
    Completion,
    GenerationBackend,
    GenerationConfig,
    load_backend,
    smollm2_gguf_path,
)
from prmkit.generation.llamacpp import LlamaCppServer

__all__ = [
    "BACKENDS",
    "Completion",
    "GenerationBackend",
    "GenerationConfig",
    "LlamaCppServer",
    "load_backend",
    "smollm2_gguf_path",
]
