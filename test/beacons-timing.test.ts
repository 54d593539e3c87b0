import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  analysisWindow,
  duration,
  histogram,
  jitterScore,
  R,
  seriesStart,
  stat,
  timingScore,
  tukeyHinges,
} from '../src/hunts/beacons/timing-score.ts';
import { AddressClassifier } from '../src/net/network.ts';
import { intervalBins } from '../src/hunts/beacons/timing.ts';
import { Rng } from '../src/ml/random.ts';

const DAY = 86400;

test('Tukey hinges on odd and even n', () => {
  // n = 5: lowest ⌊5/2⌋ = [1, 2] → Q1 1.5; Q2 3; highest [4, 5] → Q3 4.5 (the middle value is left out)
  assert.deepEqual(tukeyHinges([1, 2, 3, 4, 5]), [1.5, 3, 4.5]);
  // n = 6: lowest [1, 2, 3] → 2; Q2 (3 + 4)/2 = 3.5; highest [4, 5, 6] → 5
  assert.deepEqual(tukeyHinges([1, 2, 3, 4, 5, 6]), [2, 3.5, 5]);
  assert.deepEqual(tukeyHinges([7, 9]), [7, 8, 9]);
});

test('stat(): Bowley skew on hinges, MAD, and the B term, worked out', () => {
  // [0, 10, 20, 30, 100]: Q1 5, Q2 20, Q3 65 → skew (5 + 65 − 40)/60 = 0.5; deviations from 20 are
  // [20, 10, 0, 10, 80] → MAD 10 → B = (20 − 10)/20 = 0.5 → stat = R((1 − 0.5 + 0.5)/2) = 0.5
  assert.deepEqual(stat([0, 10, 20, 30, 100], 1), { score: 0.5, skew: 0.5, median: 20, mad: 10 });
  // Q3 − Q1 < 10: skew is 0 however lopsided; MAD 0 → B = 1 → 1
  assert.equal(stat([60, 60, 61, 69], 1).score, R((1 - 0 + (60.5 - 0.5) / 60.5) / 2));
  // median below 1: B takes the default d
  assert.equal(stat([0, 0, 0, 0], 0).score, 0.5);
  assert.equal(stat([0, 0, 0, 0], 1).score, 1);
  // B below zero becomes 0: median 2, MAD 3 → (2 − 3)/2 < 0
  assert.equal(stat([0, 0, 2, 5, 100], 1).score, R((1 - Math.abs(stat([0, 0, 2, 5, 100], 1).skew) + 0) / 2));
});

test('a perfectly periodic, constant-size series over a full day scores 1.0 in every sub-score', () => {
  const w = analysisWindow(1_700_000_000, 1_700_000_000 + DAY);
  const times = Array.from({ length: DAY / 60 + 1 }, (_, i) => w.w0 + i * 60);
  const s = timingScore(
    times,
    times.map(() => 412),
    w,
  );
  assert.equal(s.ts.score, 1);
  assert.equal(s.ds!.score, 1);
  assert.equal(s.dur.score, 1);
  assert.equal(s.hist.score, 1);
  assert.equal(s.score, 1);
  // 1441 records: 60 in each hour, the one at W1 in bin 23 → 61 there
  assert.deepEqual(s.hist.bins, [...Array(23).fill(60), 61]);
  assert.equal(s.hist.bimodal, 1, 'one group of 24 bars → min(R(24/23), 1)');
});

test("jitter: RITA's interval score drops with ±30 % jitter; the jitter-tolerant score does not", () => {
  const rng = new Rng(1);
  const w = analysisWindow(0, DAY);
  const times: number[] = [];
  for (let t = 0; t <= DAY; t += Math.round(60 * (1 + rng.uniform(-0.3, 0.3)))) times.push(t);
  const s = timingScore(
    times,
    times.map(() => 300),
    w,
  );
  assert.ok(s.ts.score < 0.95 && s.ts.score > 0.7, `ts ${s.ts.score}`);
  const jitter = jitterScore(times);
  assert.ok(jitter.score >= 0.95, `jitter ${jitter.score}`);
  assert.ok(Math.abs(jitter.interval - 60) <= 12, `interval ${jitter.interval}`);
});

test('random (Poisson) traffic scores low on intervals and on the jitter score', () => {
  const rng = new Rng(2);
  const w = analysisWindow(0, DAY);
  const times: number[] = [];
  for (let t = 0; t <= DAY; t += Math.max(1, Math.round(rng.exponential(300)))) times.push(t);
  const s = timingScore(
    times,
    times.map(() => Math.round(rng.lognormal(800, 1))),
    w,
  );
  assert.ok(s.ts.score < 0.6, `ts ${s.ts.score}`);
  assert.ok(s.ds!.score < 0.7, `ds ${s.ds!.score}`);
  assert.ok(jitterScore(times).score < 0.4, `jitter ${jitterScore(times).score}`);
});

test("window edges: series start at W0's hour, records before W0 in bin 0, W1 in bin 23, coverage from the series' own ends", () => {
  const w = analysisWindow(1000, 1000 + 2 * DAY); // more than a day of data: W0 = W1 − 86400
  assert.deepEqual(w, { w0: 1000 + DAY, w1: 1000 + 2 * DAY });
  assert.equal(seriesStart(w), Math.floor((1000 + DAY) / 3600) * 3600);
  const early = seriesStart(w); // before W0, inside W0's hour
  const h = histogram([early, w.w0, w.w0 + 3600, w.w1], w);
  assert.deepEqual([h.bins[0], h.bins[1], h.bins[23], h.bars], [2, 1, 1, 3]);
  // Data spanning less than the window: W0 = min_ts.
  assert.deepEqual(analysisWindow(500, 800), { w0: 500, w1: 800 });
  // Duration needs ≥ 6 bars; coverage = C(span/window) capped at 1, even when the first record precedes W0.
  const bins = histogram(
    Array.from({ length: 24 }, (_, i) => w.w0 + i * 3600 + 1),
    w,
  );
  const d = duration(early, w.w1, bins, w);
  assert.equal(d.coverage, 1);
  assert.equal(d.longestRun, 24);
  assert.equal(d.consistency, 1);
  // A run that wraps from the last hours into the first: bins 20–23 and 0–3 → 8 → C(8/12) = 0.667
  const wrap = histogram([...[20, 21, 22, 23, 0, 1, 2, 3].map((i) => w.w0 + i * 3600 + 5), w.w0 + 10 * 3600 + 5], w);
  assert.equal(duration(w.w0 + 5, w.w0 + 3 * 3600 + 5, wrap, w).consistency, 0.667);
  assert.equal(duration(w.w0, w.w0 + 10, histogram([w.w0, w.w0 + 10], w), w).score, 0, 'fewer than 6 bars: 0');
});

test('bimodal histogram: two levels of activity score by their group sizes', () => {
  const w = analysisWindow(0, DAY);
  // 12 busy hours (20 records) and 12 quiet ones (2 records): cv is high, but two groups cover all bars.
  const times: number[] = [];
  for (let hour = 0; hour < 24; hour++) for (let k = 0; k < (hour < 12 ? 20 : 2); k++) times.push(hour * 3600 + k * 60 + 1);
  const h = histogram(times, w);
  // w = ceil(0.05 · 20) = 1 → groups {20: 12 bars, 2: 12 bars} → min(R(24/23), 1) = 1
  assert.equal(h.bimodal, 1);
  assert.equal(h.score, 1);
  assert.ok(h.cvScore < 0.2);
});

test('addresses: internal ranges are configurable; loopback, link-local, multicast, broadcast are special', () => {
  const c = new AddressClassifier();
  assert.deepEqual(c.classify('10.1.2.3'), { internal: true, special: false, valid: true });
  assert.deepEqual(c.classify('172.31.255.1'), { internal: true, special: false, valid: true });
  assert.deepEqual(c.classify('172.32.0.1'), { internal: false, special: false, valid: true });
  assert.deepEqual(c.classify('fd2d:ab8c:225::1'), { internal: true, special: false, valid: true });
  for (const ip of ['127.0.0.1', '169.254.1.1', '224.0.0.252', '255.255.255.255', '0.0.0.0', '::1', 'fe80::5dd3:1', 'ff02::1:3', '::']) {
    assert.equal(c.classify(ip).special, true, ip);
  }
  assert.equal(new AddressClassifier(['147.32.0.0/16']).classify('147.32.81.167').internal, true);
  assert.equal(c.classify('not-an-ip').valid, false);
});

test('interval_s has one definition: the median of the gaps in the dominant window, the figure the reasons name', () => {
  // Written out: gaps 8, 10, 10, 11, 12, 30 with tolerance 0.35. The window centred on 8 holds
  // [5.2, 10.8] → 8, 10, 10 (3 gaps); centred on 10: [6.5, 13.5] → 8, 10, 10, 11, 12 (5 gaps, the
  // most). The old figure was that centre's first member (8); the interval is their median, 10.
  const times = [0, 8, 18, 28, 39, 51, 81];
  assert.deepEqual(jitterScore(times, 0.35), { score: R(5 / 6), interval: 10 });
  // Jittered pollers (uniform ±30 %) at 600, 900 and 3600 s read as 600, 900 and 3600 within 5 %
  // (they read 486, 770 and 3242 when the low edge of the window was reported).
  const rng = new Rng(3);
  for (const period of [600, 900, 3600]) {
    const series: number[] = [];
    for (let t = 0; t <= 7 * DAY; t += Math.round(period * (1 + rng.uniform(-0.3, 0.3)))) series.push(t);
    const { interval } = jitterScore(series, 0.35);
    assert.ok(Math.abs(interval - period) / period <= 0.05, `period ${period}: interval ${interval}`);
  }
});

test('interval bins show the period of a jittered beacon: a 600 s ± 50 % series peaks around 600 s, not at scattered exact seconds', () => {
  const rng = new Rng(7);
  const gaps = Array.from({ length: 400 }, () => Math.round(600 * (1 + rng.uniform(-0.5, 0.5))));
  const bins = intervalBins(gaps);
  assert.equal(bins.length, 40);
  assert.equal(
    bins.reduce((n, b) => n + b[2], 0),
    400,
  );
  // Every gap lies between 300 and 900 s: the bins outside hold nothing, and the middle of the hump is near 600.
  const filled = bins.filter((b) => b[2] > 0);
  assert.ok(filled[0][0] >= 270 && filled.at(-1)![1] <= 960, JSON.stringify(filled.map((b) => b[0])));
  const mass = filled.reduce((n, b) => n + (b[2] * (b[0] + b[1])) / 2, 0) / 400;
  assert.ok(Math.abs(mass - 600) < 30, `centre of mass ${mass}`);
});
