#!/usr/bin/env python3
"""Paired rounds of two trees from ../bench-overload-2026-12-06c/ab.sh logs: per model, transport
and factor, each round's goodput A / B and recovery, how many rounds B was higher, the one-sided
sign test (pairs taken as independent, which runs of one sitting are not quite), the medians, and
how many runs reached 0.9 and recovered within 5 s.
Usage: pairs.py DIR A B (logs DIR/ab-<round>-<A|B>-*.log)"""
import math, os, statistics, sys

folder, a_name, b_name = sys.argv[1:4]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bench-overload-2026-12-06c'))
from ab_logs import load_rounds  # noqa: E402

runs = load_rounds(folder, (a_name, b_name))


def sign_p(wins, n):
    """One-sided: the chance of at least `wins` of `n` under a fair coin."""
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2 ** n if n else float('nan')


def met(r):
    return r['goodput'] >= 0.9 and r.get('recovery') is not None and r['recovery'] <= 5


print(f'| model | transport | factor | goodput per round, {a_name} / {b_name} | {b_name} higher | medians | >= 0.9 and recovered <= 5 s | recovery s per round |')
print('| --- | --- | ---: | --- | ---: | --- | --- | --- |')
total_wins = total = 0
for key in sorted(runs):
    points = runs[key]
    rounds = sorted({rnd for rnd, _ in points if (rnd, a_name) in points and (rnd, b_name) in points})
    pairs = [(points[(rnd, a_name)], points[(rnd, b_name)]) for rnd in rounds]
    if not pairs:
        continue
    wins = sum(1 for a, b in pairs if b['goodput'] > a['goodput'])
    total_wins += wins
    total += len(pairs)
    each = ', '.join(f"{a['goodput']:.2f} / {b['goodput']:.2f}" for a, b in pairs)
    med_a = statistics.median(a['goodput'] for a, _ in pairs)
    med_b = statistics.median(b['goodput'] for _, b in pairs)
    rec = ', '.join(f"{'>7' if a.get('recovery') is None else a['recovery']} / {'>7' if b.get('recovery') is None else b['recovery']}" for a, b in pairs)
    met_a = sum(1 for a, _ in pairs if met(a))
    met_b = sum(1 for _, b in pairs if met(b))
    print(f'| {key[0]} | {key[1]} | {key[2]}x | {each} | {wins} of {len(pairs)} | {med_a:.2f} / {med_b:.2f} | {met_a} / {met_b} | {rec} |')
print(f'\n{b_name} higher in {total_wins} of {total} pairs (one-sided sign test p = {sign_p(total_wins, total):.3f})')
