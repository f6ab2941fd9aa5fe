// Amounts in cents, so sums are exact.
export function add(a: number, b: number): number {
  return a + b;
}

export function split(total: number, parts: number): number[] {
  if (parts <= 0) throw new Error("parts must be positive");
  const base = Math.floor(total / parts);
  const out = Array(parts).fill(base);
  for (let i = 0; i < total - base * parts; i++) out[i]++;
  return out;
}
