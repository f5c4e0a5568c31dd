// The generated names are torchvision's, in torchvision's order.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_LABELS, IMAGENET_LABELS, MNIST_LABELS } from './index.js';
import { machinePaths } from '@cnn/core/testing';

describe('class names', () => {
  it('match the lists in Debian torchvision', () => {
    // read the sources with ast rather than importing torchvision (which imports torch: seconds)
    const script = `
import ast, json
import importlib.util, os
root = os.path.dirname(importlib.util.find_spec('torchvision').origin) + '/'  # found, not imported
def assigned(body, name):
    return next(ast.literal_eval(n.value) for n in body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', None) == name)
meta = ast.parse(open(root + 'models/_meta.py').read()).body
mnist = {n.name: n.body for n in ast.parse(open(root + 'datasets/mnist.py').read()).body if isinstance(n, ast.ClassDef)}
print(json.dumps([assigned(meta, '_IMAGENET_CATEGORIES'), assigned(mnist['MNIST'], 'classes'), assigned(mnist['FashionMNIST'], 'classes')]))
`;
    const [imagenet, mnist, fashion] = JSON.parse(execFileSync(machinePaths.python, ['-c', script], { encoding: 'utf8' }));
    expect(IMAGENET_LABELS).toEqual(imagenet);
    expect(MNIST_LABELS).toEqual(mnist);
    expect(FASHION_MNIST_LABELS).toEqual(fashion);
  });

  it('have one name per logit', () => {
    expect(IMAGENET_LABELS).toHaveLength(1000);
    expect([IMAGENET_LABELS[0], IMAGENET_LABELS[281], IMAGENET_LABELS[999]]).toEqual(['tench', 'tabby', 'toilet tissue']);
    expect(FASHION_MNIST_LABELS[9]).toBe('Ankle boot');
  });
});
