import { defineConfig } from "vitest/config";

// `npm run dev` serves the page with hot reload and forwards the API (and
// its WebSocket) to a server on VANTAGE_SERVER (default 127.0.0.1:8080).
const server = process.env.VANTAGE_SERVER ?? "http://127.0.0.1:8080";

export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: {
      "/api": { target: server, ws: true, changeOrigin: false },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
  },
});
