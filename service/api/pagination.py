from typing import Annotated

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=100, description="How many items, 1–100.")]
After = Annotated[str | None, Query(description="The id of the last item of the previous page.")]
