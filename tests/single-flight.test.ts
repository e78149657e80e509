import { expect, it } from 'vitest';
import { createSingleFlight } from '../src/server/services/single-flight.js';

it('shares one load among the callers that come while it runs, then loads again', async () => {
  const flights = createSingleFlight<string, number>();
  let loads = 0;
  const load = async () => {
    loads++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    return loads;
  };
  const together = await Promise.all([flights.run('a', load), flights.run('a', load), flights.run('a', load)]);
  expect(together).toEqual([1, 1, 1]);
  expect(await flights.run('b', load)).toBe(2);
  expect(await flights.run('a', load)).toBe(3);
});

it('does not keep a failure, also from a load that throws before returning a promise', async () => {
  const flights = createSingleFlight<string, number>();
  await expect(flights.run('a', () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
  expect(await flights.run('a', async () => 1)).toBe(1);
  const throwsAtOnce = (): Promise<number> => {
    throw new Error('at once');
  };
  await expect(flights.run('b', throwsAtOnce)).rejects.toThrow('at once');
  expect(await flights.run('b', async () => 2)).toBe(2);
});

it('starts a fresh load after forget, and the old one settling does not drop the new one', async () => {
  const flights = createSingleFlight<string, string>();
  let release!: () => void;
  const old = flights.run('a', () => new Promise<string>((resolve) => (release = () => resolve('old'))));
  flights.forget('a');
  let fresh = 0;
  const slow = () => new Promise<string>((resolve) => setTimeout(() => resolve(`fresh ${++fresh}`), 5));
  const first = flights.run('a', slow);
  // Loads start in a promise job: let the old one start before it is released.
  await new Promise((resolve) => setTimeout(resolve, 0));
  release();
  expect(await old).toBe('old');
  // The old load left without taking the new one out of the map: a caller now still shares it.
  const second = flights.run('a', slow);
  expect(await Promise.all([first, second])).toEqual(['fresh 1', 'fresh 1']);
});
