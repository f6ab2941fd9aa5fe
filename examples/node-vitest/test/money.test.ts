import { describe, expect, test } from "vitest";
import { add, split } from "../src/money";

describe("add", () => {
  test("adds cents", () => {
    expect(add(150, 250)).toBe(400);
  });
});

describe("split", () => {
  test("spreads the remainder", () => {
    expect(split(10, 3)).toEqual([4, 3, 3]);
  });
  test("refuses zero parts", () => {
    expect(() => split(10, 0)).toThrow("parts must be positive");
  });
});
