import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared';

// One entry point per label set, so an app bundles only the names it imports.
export default defineConfig({ ...libraryBuild, entry: { index: 'src/index.ts', imagenet: 'src/imagenet.ts', mnist: 'src/mnist.ts' } });
