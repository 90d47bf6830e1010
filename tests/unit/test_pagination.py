"""The list envelope: one helper cuts every list route's page."""

from dataclasses import dataclass

from service.pagination import take_page, whole_page


@dataclass
class Item:
    id: str


def test_a_page_says_whether_more_follow_and_names_its_ends():
    page = take_page((Item(f"i{n}") for n in range(5)), 2)
    assert [item.id for item in page.data] == ["i0", "i1"]
    assert page.has_more is True
    assert (page.first_id, page.last_id) == ("i0", "i1")


def test_the_last_page_has_no_more():
    page = take_page([Item("a"), Item("b")], 2)
    assert page.has_more is False
    assert page.last_id == "b"


def test_where_filters_before_the_cut():
    page = take_page((Item(str(n)) for n in range(10)), 2, where=lambda item: int(item.id) % 3 == 0)
    assert [item.id for item in page.data] == ["0", "3"]
    assert page.has_more is True


def test_a_whole_page_holds_every_item_and_no_more():
    page = whole_page([Item("a"), Item("b"), Item("c")])
    assert [item.id for item in page.data] == ["a", "b", "c"]
    assert page.has_more is False
    assert page.model_dump()["object"] == "list"


def test_an_empty_whole_page_has_no_ends():
    page = whole_page([])
    assert page.data == []
    assert (page.first_id, page.last_id, page.has_more) == (None, None, False)
