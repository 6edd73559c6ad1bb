import type { Upstream } from './upstream.js';

/** Policy names a load-balancing policy of `balance`. */
export type Policy = 'round_robin' | 'least_conn' | 'ip_hash' | 'random' | 'first';

/** Balancer picks one upstream among the candidates (available, not yet tried, in config order). */
export type Balancer = (candidates: readonly Upstream[], client: string) => Upstream;

/** balancer returns the picking function of a policy. */
export function balancer(policy: Policy, random: () => number = Math.random): Balancer {
  switch (policy) {
    case 'round_robin':
      return smoothRoundRobin;
    case 'least_conn':
      return leastConn();
    case 'ip_hash':
      return ipHash;
    case 'random':
      return (c) => weightedRandom(c, random);
    case 'first':
      return (c) => c[0];
  }
}

/**
 * smoothRoundRobin is nginx's smooth weighted round robin: weights 5,1,1 give a a b a c a a,
 * spread out rather than in bursts, and a candidate coming back joins without a surge.
 */
function smoothRoundRobin(candidates: readonly Upstream[]): Upstream {
  let best = candidates[0];
  let total = 0;
  for (const u of candidates) {
    u.current += u.weight;
    total += u.weight;
    if (u.current > best.current) best = u;
  }
  best.current -= total;
  return best;
}

/** leastConn picks the fewest requests in flight per unit of weight; ties rotate. */
function leastConn(): Balancer {
  let turn = 0;
  return (candidates) => {
    const n = candidates.length;
    const start = turn++ % n;
    let best = candidates[start];
    for (let i = 1; i < n; i++) {
      const u = candidates[(start + i) % n];
      if (u.active * best.weight < best.active * u.weight) best = u;
    }
    return best;
  };
}

/**
 * ipHash maps a client address to an upstream by rendezvous hashing (weighted): the same
 * client keeps its upstream, and only the clients of an upstream that goes away move.
 */
function ipHash(candidates: readonly Upstream[], client: string): Upstream {
  let best = candidates[0];
  let bestScore = -Infinity;
  for (const u of candidates) {
    const h = (fnv1a(`${client}|${u.key}`) + 0.5) / 4294967296;
    const score = -u.weight / Math.log(h);
    if (score > bestScore) [best, bestScore] = [u, score];
  }
  return best;
}

function weightedRandom(candidates: readonly Upstream[], random: () => number): Upstream {
  let total = 0;
  for (const u of candidates) total += u.weight;
  let r = random() * total;
  for (const u of candidates) if ((r -= u.weight) < 0) return u;
  return candidates[candidates.length - 1];
}

/** fnv1a is the 32-bit FNV-1a hash of a string, mixed so nearby inputs spread. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
