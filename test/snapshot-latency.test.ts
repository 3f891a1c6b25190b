/** latencyQuantile(): quantiles derived from histogram buckets, one process's or summed over several. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { latencyQuantile } from '../lib/index.js';

const bounds = [0.01, 0.1, 1];

test('latencyQuantile interpolates inside the bucket that holds the rank', () => {
  // 10 observations: 4 up to 10 ms, 6 in (10 ms, 100 ms].
  assert.equal(latencyQuantile({ bounds, counts: [4, 6, 0, 0] }, 0.4), 0.01);
  assert.ok(Math.abs(latencyQuantile({ bounds, counts: [4, 6, 0, 0] }, 0.7)! - 0.055) < 1e-12);
});

test('latencyQuantile of buckets summed over processes is the quantile of all their observations', () => {
  const one = [4, 0, 0, 0];
  const other = [0, 6, 0, 0];
  const summed = one.map((n, i) => n + other[i]!);
  assert.equal(latencyQuantile({ bounds, counts: one }, 0.5), 0.005);
  assert.ok(Math.abs(latencyQuantile({ bounds, counts: summed }, 0.7)! - 0.055) < 1e-12);
});

test('latencyQuantile is null without observations, and the last bound above every bound', () => {
  assert.equal(latencyQuantile({ bounds, counts: [0, 0, 0, 0] }, 0.5), null);
  assert.equal(latencyQuantile({ bounds, counts: [0, 0, 0, 5] }, 0.99), 1);
});
