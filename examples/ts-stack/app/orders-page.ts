// The UI: renders and forwards; no business logic, no database.
import { openOrders, placeOrder } from "@domain/orders";

export function renderOrders(): string {
  const items = openOrders().map((o) => `<li data-id="${o.id}">${o.quantity} x ${o.item}</li>`);
  return `<ul>${items.join("")}</ul>`;
}

export function submitOrder(form: { item: string; quantity: string }): string {
  try {
    placeOrder(form.item, Number(form.quantity));
    return renderOrders();
  } catch (e) {
    return `<p class="error">${(e as Error).message}</p>`;
  }
}
