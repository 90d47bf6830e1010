"""The shapes providers answer with. For now they are the OpenAI SDK's pydantic models, named
here so that domains import them from the provider package, never from an SDK: a provider of
another kind builds these, and a domain type can replace one of them in this module alone."""

from openai.types import Batch, FileObject, Upload
from openai.types.chat import ChatCompletion
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint

__all__ = ["Batch", "ChatCompletion", "FileObject", "FineTuningJob", "FineTuningJobCheckpoint",
           "FineTuningJobEvent", "Upload"]
