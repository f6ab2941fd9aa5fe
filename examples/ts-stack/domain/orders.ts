// The domain layer: every meaningful write goes through here, checked.
import { insertOrder, listOrders, type Order } from "../db/client";

export type { Order };

export function placeOrder(item: string, quantity: number): Order {
  if (item.trim() === "") throw new Error("an order needs an item");
  if (!Number.isInteger(quantity) || quantity < 1) throw new Error("quantity must be a whole number of at least 1");
  return insertOrder(item.trim(), quantity);
}

export function openOrders(): Order[] {
  return listOrders().filter((o) => o.status === "open");
}
