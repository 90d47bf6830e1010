"""The base models the emulator serves: what each can do and how it counts tokens."""

from dataclasses import dataclass
from typing import Literal

Kind = Literal["chat", "completion", "embedding"]


@dataclass(frozen=True)
class ModelSpec:
    id: str
    created: int
    kind: Kind
    encoding: str
    context: int = 65536
    tunable: bool = False
    dpo: bool = False
    dimensions: int = 0
    snapshot: str = ""  # for an alias, the dated model it stands for

    @property
    def resolved(self) -> str:
        return self.snapshot or self.id


O200K, CL100K = "o200k_base", "cl100k_base"
SPECS = [
    ModelSpec("gpt-4o-mini-2024-07-18", 1721172717, "chat", O200K, tunable=True, dpo=True),
    ModelSpec("gpt-4o-mini", 1721172741, "chat", O200K, tunable=True, dpo=True,
              snapshot="gpt-4o-mini-2024-07-18"),
    ModelSpec("gpt-4o-2024-08-06", 1722814719, "chat", O200K, tunable=True, dpo=True),
    ModelSpec("gpt-4o", 1715367049, "chat", O200K, snapshot="gpt-4o-2024-08-06"),
    ModelSpec("gpt-4.1-2025-04-14", 1744315746, "chat", O200K, tunable=True, dpo=True),
    ModelSpec("gpt-4.1", 1744316542, "chat", O200K, tunable=True, dpo=True,
              snapshot="gpt-4.1-2025-04-14"),
    ModelSpec("gpt-4.1-mini-2025-04-14", 1744317547, "chat", O200K, tunable=True, dpo=True),
    ModelSpec("gpt-4.1-mini", 1744318173, "chat", O200K, tunable=True, dpo=True,
              snapshot="gpt-4.1-mini-2025-04-14"),
    ModelSpec("gpt-4.1-nano-2025-04-14", 1744321025, "chat", O200K, tunable=True, dpo=True),
    ModelSpec("gpt-4.1-nano", 1744321707, "chat", O200K, tunable=True, dpo=True,
              snapshot="gpt-4.1-nano-2025-04-14"),
    ModelSpec("gpt-3.5-turbo-0125", 1706048358, "chat", CL100K, 16385, tunable=True),
    ModelSpec("gpt-3.5-turbo-1106", 1698959748, "chat", CL100K, 16385, tunable=True),
    ModelSpec("gpt-3.5-turbo", 1677610602, "chat", CL100K, 16385, tunable=True,
              snapshot="gpt-3.5-turbo-0125"),
    ModelSpec("gpt-4", 1687882411, "chat", CL100K, 8192),
    ModelSpec("babbage-002", 1692634615, "completion", CL100K, 16384, tunable=True),
    ModelSpec("davinci-002", 1692634301, "completion", CL100K, 16384, tunable=True),
    ModelSpec("text-embedding-3-small", 1705948997, "embedding", CL100K, 8191, dimensions=1536),
    ModelSpec("text-embedding-3-large", 1705953180, "embedding", CL100K, 8191, dimensions=3072),
    ModelSpec("text-embedding-ada-002", 1671217299, "embedding", CL100K, 8191, dimensions=1536),
]
BASE_MODELS = {spec.id: spec for spec in SPECS}
OWNER = "system"
ORGANIZATION_ID = "org-emulator"
ORGANIZATION_NAME = "emulator"


def base_spec(model: str) -> ModelSpec | None:
    """The spec of a base model, or of the base a fine-tuned name (ft:<base>:...) was built on."""
    if model.startswith("ft:"):
        return BASE_MODELS.get(model.split(":")[1])
    return BASE_MODELS.get(model)
