import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared';

// Two entry points: the browser-safe library, and ./node (file reading and the pure-JS PNG/JPEG
// decoders), which only Node code imports.
export default defineConfig({ ...libraryBuild, entry: { index: 'src/index.ts', node: 'src/node.ts' } });
