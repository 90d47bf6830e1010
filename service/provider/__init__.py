"""The provider behind `ctx.provider`.

A second provider is one new module here implementing `base.Provider`, and a setting naming
the provider (none yet: OpenAI is the only one) read in `build_provider` to choose it. Nothing
outside this package imports an SDK.
"""

import redis

from service.provider.base import Provider
from service.provider.openai import OpenAIProvider
from service.settings import Settings


def build_provider(settings: Settings, client: redis.Redis) -> Provider:
    """The configured provider; `client` holds the request-rate cap shared by every process."""
    return OpenAIProvider(settings, client)
