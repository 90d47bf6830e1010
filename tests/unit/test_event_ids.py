"""Event ids as cursors: what reaches Redis must be a stream id it can read after."""

from service.store.events import is_valid_id


def test_an_event_id_is_two_64_bit_numbers():
    assert is_valid_id(f"ev_{2**64 - 1}-{2**64 - 1}")


def test_a_number_past_64_bits_is_not_an_event_id():
    assert not is_valid_id(f"ev_{2**64}")


def test_a_sequence_past_64_bits_is_not_an_event_id():
    assert not is_valid_id(f"ev_1-{2**64}")


def test_digits_other_than_ascii_are_not_an_event_id():
    assert not is_valid_id("ev_\u00b2")
