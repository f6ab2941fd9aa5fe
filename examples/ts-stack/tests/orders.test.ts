import { beforeEach, describe, expect, it } from "vitest";
import { reset } from "../db/client";
import { openOrders, placeOrder } from "../domain/orders";
import { renderOrders, submitOrder } from "../app/orders-page";

beforeEach(() => reset());

describe("domain", () => {
  it("places an order", () => {
    expect(placeOrder(" tea ", 2)).toEqual({ id: 1, item: "tea", quantity: 2, status: "open" });
    expect(openOrders()).toHaveLength(1);
  });

  it("refuses a bad quantity", () => {
    expect(() => placeOrder("tea", 0)).toThrow("quantity");
  });
});

describe("app", () => {
  it("renders the open orders", () => {
    placeOrder("tea", 2);
    expect(renderOrders()).toBe('<ul><li data-id="1">2 x tea</li></ul>');
  });

  it("shows a refused order as an error", () => {
    expect(submitOrder({ item: "", quantity: "1" })).toContain("an order needs an item");
  });
});
