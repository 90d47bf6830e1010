import pytest

from tests.support.env import emulator_settings


@pytest.fixture
def settings_overrides(emulator):
    """The service pointed at the emulator, syncing fast."""
    return emulator_settings(emulator)
