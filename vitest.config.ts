import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Live tests start real servers (MinIO, PostgreSQL, sshd) on 127.0.0.1.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
