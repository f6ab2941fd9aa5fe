import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// vitest does not read tsconfig's paths: the alias is repeated here.
export default defineConfig({
  resolve: {
    alias: { "@domain": fileURLToPath(new URL("./domain", import.meta.url)) },
  },
  test: { include: ["tests/**/*.test.ts"] },
});
