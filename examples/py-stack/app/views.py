"""The UI: renders and forwards; no business logic, no database."""

from domain.orders import open_orders, place_order


def render_orders() -> str:
    items = "".join(f'<li data-id="{o.id}">{o.quantity} x {o.item}</li>' for o in open_orders())
    return f"<ul>{items}</ul>"


def submit_order(form: dict) -> str:
    try:
        place_order(form.get("item", ""), int(form.get("quantity", "0")))
    except ValueError as e:
        return f'<p class="error">{e}</p>'
    return render_orders()
