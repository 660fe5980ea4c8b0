import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The fonts are vendored once, in crates/ehcard-card/fonts (OFL), and
// bundled from there: the app loads nothing from the network.
export default defineConfig({
  plugins: [svelte()],
  // Component tests mount Svelte in jsdom: use Svelte's browser build there.
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  clearScreen: false,
  server: { port: 5173, strictPort: true, fs: { allow: ['..'] } },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0 },
  test: { environment: 'jsdom', include: ['tests/**/*.test.ts'] },
});
