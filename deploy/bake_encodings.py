"""Fetch the tiktoken encoding files the service uses into a directory, at image build time, so
the image tokenizes with no network access (TIKTOKEN_CACHE_DIR names that directory).

    python deploy/bake_encodings.py /app/tiktoken_cache
"""

import os
import sys
from pathlib import Path

ENCODINGS = ("cl100k_base", "o200k_base")  # see service/datasets/tokens.py


def main() -> None:
    target = Path(sys.argv[1]).resolve()
    target.mkdir(parents=True, exist_ok=True)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(target)
    import tiktoken  # reads TIKTOKEN_CACHE_DIR when it loads an encoding

    for name in ENCODINGS:
        assert tiktoken.get_encoding(name).encode("hello"), name
    print(f"{', '.join(ENCODINGS)} in {target}: {len(list(target.iterdir()))} files")


if __name__ == "__main__":
    main()
