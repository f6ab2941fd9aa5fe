"""Rows in memory, as a database would hold them."""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Order:
    id: int
    item: str
    quantity: int
    status: str = "open"


_rows: list[Order] = []


def insert_order(item: str, quantity: int) -> Order:
    order = Order(id=len(_rows) + 1, item=item, quantity=quantity)
    _rows.append(order)
    return order


def update_order(order_id: int, **change) -> Order | None:
    for i, row in enumerate(_rows):
        if row.id == order_id:
            _rows[i] = replace(row, **change)
            return _rows[i]
    return None


def list_orders() -> list[Order]:
    return list(_rows)


def reset() -> None:
    _rows.clear()
