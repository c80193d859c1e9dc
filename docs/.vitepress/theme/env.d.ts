// Vite bundles the stylesheets the theme imports; TypeScript only needs to know such imports exist.
declare module '*.css';
