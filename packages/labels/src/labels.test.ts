// The generated names are torchvision's, in torchvision's order.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_LABELS, IMAGENET_LABELS, MNIST_LABELS } from './index.js';

describe('class names', () => {
  it('match the lists in Debian torchvision', () => {
    const script = [
      'import json',
      'from torchvision.models._meta import _IMAGENET_CATEGORIES as I',
      'from torchvision.datasets import MNIST, FashionMNIST',
      'print(json.dumps([list(I), MNIST.classes, FashionMNIST.classes]))',
    ].join('\n');
    const [imagenet, mnist, fashion] = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' }));
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
