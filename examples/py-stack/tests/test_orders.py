import pytest

from app.views import render_orders, submit_order
from db import store
from domain.orders import open_orders, place_order


@pytest.fixture(autouse=True)
def empty_store():
    store.reset()


def test_places_an_order():
    assert place_order(" tea ", 2) == store.Order(id=1, item="tea", quantity=2)
    assert len(open_orders()) == 1


def test_refuses_a_bad_quantity():
    with pytest.raises(ValueError, match="quantity"):
        place_order("tea", 0)


def test_renders_the_open_orders():
    place_order("tea", 2)
    assert render_orders() == '<ul><li data-id="1">2 x tea</li></ul>'


def test_shows_a_refused_order_as_an_error():
    assert "an order needs an item" in submit_order({"item": "", "quantity": "1"})
