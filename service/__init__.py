"""finetune-manager: the domain shared by the API and the worker."""

__version__ = "0.1.0"
