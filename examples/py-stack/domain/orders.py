"""The domain layer: every meaningful write goes through here, checked."""

from typing import TYPE_CHECKING

from db import store

if TYPE_CHECKING:
    from db.store import Order


def place_order(item: str, quantity: int) -> "Order":
    if not item.strip():
        raise ValueError("an order needs an item")
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    return store.insert_order(item.strip(), quantity)


def open_orders() -> list["Order"]:
    return [o for o in store.list_orders() if o.status == "open"]
