import { defineConfig } from 'vite';

/**
 * The console is served by the control plane from dist/ (no dev server in production). Vite 8
 * compiles JSX itself (oxc); the replay player and the policy editor are separate chunks loaded on
 * demand so the first load stays small.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    // No inline <script> or data: modules: the CSP allows scripts from 'self' only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
});
