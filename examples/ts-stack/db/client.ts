// The store: the only module that holds rows. Only domain/ may import it.

export type Order = { id: number; item: string; quantity: number; status: "open" | "cancelled" };

const rows: Order[] = [];

export function insertOrder(item: string, quantity: number): Order {
  const order: Order = { id: rows.length + 1, item, quantity, status: "open" };
  rows.push(order);
  return { ...order };
}

export function updateOrder(id: number, change: Partial<Omit<Order, "id">>): Order | undefined {
  const row = rows.find((r) => r.id === id);
  if (!row) return undefined;
  Object.assign(row, change);
  return { ...row };
}

export function listOrders(): Order[] {
  return rows.map((r) => ({ ...r }));
}

export function reset(): void {
  rows.length = 0;
}
