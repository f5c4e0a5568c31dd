import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared';

// The library entry is dual like every package; the cnn binary is ESM only (top-level await),
// so the build script empties dist/ itself instead of each config cleaning it.
export default defineConfig([
  // shims: the CommonJS build has no import.meta.url (quantize.ts finds the int8 kernel binaries with it)
  { ...libraryBuild, entry: { index: 'src/index.ts' }, clean: false, shims: true },
  { ...libraryBuild, entry: { cli: 'src/cli.ts' }, format: ['esm'], dts: false, clean: false },
]);
