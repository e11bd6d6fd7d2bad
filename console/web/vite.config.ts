import { defineConfig } from "vite";

// The console serves the built files itself (console/web.go); in dev, the
// API is proxied to a running supplywatch.
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: false },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
});
