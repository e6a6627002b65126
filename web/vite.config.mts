import { defineConfig } from 'vite';

// Served by the service at /console (src/modules/console). No React plugin: Vite's built-in oxc
// transform compiles the JSX (the plugin's babel peer conflicts with jest's).
export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: 'dist', emptyOutDir: true, assetsDir: 'assets', sourcemap: false },
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
});
