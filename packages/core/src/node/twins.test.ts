// The browser twin of core's Node-only folder matches it name for name, so a bundle built
// without the "node" condition fails with a clear WeightsError instead of "not a function".
import { describe, expect, it } from 'vitest';
import * as node from './index.js';
import * as browser from './browser.js';
import { WeightsError } from '../errors.js';

describe('#core/node twins', () => {
  it('export the same names', () => {
    expect(Object.keys(browser).sort()).toEqual(Object.keys(node).sort());
  });

  it('browser twin refuses file reads with a WeightsError naming the file and the missing condition', async () => {
    const error = await browser.readFileBytes('/tmp/w.safetensors').then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsError);
    expect((error as Error).message).toMatch(/reading the file '\/tmp\/w\.safetensors' needs Node.*"node" export condition/);
  });

  it('Node twin reads files and names a missing one', async () => {
    const bytes = await node.readFileBytes(new URL(import.meta.url));
    expect(new TextDecoder().decode(bytes)).toContain('#core/node twins');
    await expect(node.readFileBytes('/nonexistent/w.safetensors')).rejects.toThrow(/cannot read weights file '\/nonexistent\/w\.safetensors'/);
  });
});
