import pytest

from tests.conftest import EMULATOR_KEY


@pytest.fixture
def settings_overrides(emulator):
    """The service pointed at the emulator, syncing fast."""
    return {"openai_base_url": emulator, "openai_api_key": EMULATOR_KEY,
            "openai_retry_base_seconds": 0.01, "sync_interval_running_seconds": 0.05,
            "sync_interval_queued_seconds": 0.05}
