#!/usr/bin/env python3
"""Frozen reference values for @tfpipe/monitor's drift statistics, computed with SciPy.

Run from the repository root (needs python3-scipy and python3-numpy; SciPy is never a runtime dependency):

    python3 packages/monitor/scripts/scipy-fixtures.py > packages/monitor/src/__fixtures__/scipy.json

Evidently's wrappers (chi-squared on scaled reference counts, the z-test, the normed Wasserstein distance,
Jensen-Shannon and PSI on `get_binned_data`) are restated here with NumPy exactly as Evidently's source
writes them, so the fixture needs SciPy alone.
"""
import json
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

rng = np.random.default_rng(20261202)


def r6(xs):
    return [float(round(float(x), 6)) for x in xs]


def sample(kind, n, shift=0.0, scale=1.0):
    if kind == "normal":
        return r6(rng.normal(shift, scale, n))
    if kind == "exponential":
        return r6(rng.exponential(scale, n) + shift)
    if kind == "integers":
        return [float(v) for v in rng.integers(0, 8, n) + int(shift)]
    raise ValueError(kind)


# --- Kolmogorov-Smirnov -------------------------------------------------------------------------------
ks = []
for name, a, b in [
    ("small equal", sample("normal", 40), sample("normal", 45)),
    ("small shifted", sample("normal", 60), sample("normal", 70, 0.6)),
    ("n<=140 mid", sample("normal", 200), sample("normal", 240, 0.25)),
    ("n<=140 far", sample("normal", 150), sample("normal", 130, 1.5)),
    ("medium equal", sample("normal", 500), sample("normal", 700)),
    ("medium shifted", sample("normal", 500), sample("normal", 700, 0.15)),
    ("large equal", sample("exponential", 1000), sample("exponential", 1500)),
    ("large slight", sample("exponential", 1000), sample("exponential", 1500, 0.05)),
    ("large shifted", sample("exponential", 1000), sample("exponential", 1500, 0.4)),
    ("ties", sample("integers", 300), sample("integers", 400)),
    ("ties shifted", sample("integers", 300), sample("integers", 400, 1)),
    ("scale", sample("normal", 800), sample("normal", 800, 0, 1.3)),
]:
    res = stats.ks_2samp(a, b, method="asymp")
    ks.append({"name": name, "a": a, "b": b, "statistic": float(res.statistic), "pvalue": float(res.pvalue)})

# The distribution itself, over every branch of kolmogn (Ruben-Gambino, Durbin, Pomeranz, Pelz-Good, Smirnov).
kstwo = []
for n in [1, 2, 5, 10, 37, 100, 140, 141, 250, 500, 1000, 4000, 20000]:
    for x in [0.001, 0.004, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.8, 0.95]:
        kstwo.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})

# --- chi-squared (Evidently: expected = reference counts scaled to the current total) ------------------
def evidently_chi(ref_counts, cur_counts):
    keys = sorted(set(ref_counts) | set(cur_counts))
    n_ref = sum(ref_counts.values())
    n_cur = sum(cur_counts.values())
    f_exp = [ref_counts.get(k, 0) * n_cur / n_ref for k in keys]
    f_obs = [cur_counts.get(k, 0) for k in keys]
    res = stats.chisquare(f_obs, f_exp)
    return float(res.statistic), float(res.pvalue)


def counts(cats, p, n):
    draw = rng.choice(cats, size=n, p=p)
    u, c = np.unique(draw, return_counts=True)
    return {str(k): int(v) for k, v in zip(u, c)}


chisq = []
for name, ref, cur in [
    ("same", counts(["a", "b", "c"], [0.5, 0.3, 0.2], 900), counts(["a", "b", "c"], [0.5, 0.3, 0.2], 400)),
    ("shifted", counts(["a", "b", "c"], [0.5, 0.3, 0.2], 900), counts(["a", "b", "c"], [0.4, 0.3, 0.3], 400)),
    ("many", counts(list("abcdefghij"), [0.1] * 10, 1000), counts(list("abcdefghij"), [0.1] * 10, 600)),
    ("many shifted", counts(list("abcdefghij"), [0.1] * 10, 1000), counts(list("abcdefghij"), [0.06] * 5 + [0.14] * 5, 600)),
]:
    stat, p = evidently_chi(ref, cur)
    chisq.append({"name": name, "reference": ref, "current": cur, "statistic": stat, "pvalue": p})

# --- z-test for two values (Evidently's proportions_diff_z_test) --------------------------------------
ztests = []
for name, ref, cur in [
    ("same", counts(["no", "yes"], [0.7, 0.3], 800), counts(["no", "yes"], [0.7, 0.3], 300)),
    ("shifted", counts(["no", "yes"], [0.7, 0.3], 800), counts(["no", "yes"], [0.55, 0.45], 300)),
]:
    keys = sorted(set(ref) | set(cur))
    n1, n2 = sum(ref.values()), sum(cur.values())
    p1 = (n1 - ref.get(keys[0], 0)) / n1
    p2 = (n2 - cur.get(keys[0], 0)) / n2
    P = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
    ztests.append({"name": name, "reference": ref, "current": cur, "statistic": float(z), "pvalue": float(2 * (1 - stats.norm.cdf(abs(z))))})

# --- Wasserstein, normed by the reference std -----------------------------------------------------------
wass = []
for name, a, b in [
    ("equal", sample("normal", 300), sample("normal", 400)),
    ("shifted", sample("normal", 300), sample("normal", 500, 0.5)),
    ("skewed", sample("exponential", 1000), sample("exponential", 800, 0, 1.5)),
    ("ties", sample("integers", 200), sample("integers", 300, 1)),
]:
    w = float(stats.wasserstein_distance(a, b))
    wass.append({"name": name, "a": a, "b": b, "distance": w, "normed": w / max(float(np.std(a)), 0.001)})


# --- Jensen-Shannon and PSI on Evidently's get_binned_data ----------------------------------------------
def binned(ref, cur, numeric, feel_zeroes):
    ref = np.asarray(ref)
    cur = np.asarray(cur)
    if numeric and len(np.unique(ref)) > 20:
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        rp = np.histogram(ref, bins)[0] / len(ref)
        cp = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = sorted(set(ref.tolist()) | set(cur.tolist()))
        rp = np.array([np.sum(ref == k) / len(ref) for k in keys])
        cp = np.array([np.sum(cur == k) / len(cur) for k in keys])
    if feel_zeroes:
        for arr in (rp, cp):
            m = min(arr[arr != 0])
            np.place(arr, arr == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return rp, cp


binned_cases = []
for name, a, b, numeric in [
    ("numeric equal", sample("normal", 1000), sample("normal", 1000), True),
    ("numeric shifted", sample("normal", 1000), sample("normal", 600, 0.7), True),
    ("numeric far", sample("normal", 500), sample("normal", 500, 6), True),
    ("few values", sample("integers", 1000), sample("integers", 700, 2), True),
    ("categories", [str(v) for v in rng.choice(list("abcde"), 900, p=[0.3, 0.3, 0.2, 0.1, 0.1])], [str(v) for v in rng.choice(list("abcdef"), 500, p=[0.2, 0.2, 0.2, 0.2, 0.1, 0.1])], False),
]:
    rp, cp = binned(a, b, numeric, False)
    js = float(distance.jensenshannon(rp, cp))
    rz, cz = binned(a, b, numeric, True)
    psi = float(np.sum((rz - cz) * np.log(rz / cz)))
    binned_cases.append({"name": name, "a": a, "b": b, "numeric": numeric, "jensenshannon": js, "psi": psi,
                         "edges": np.histogram_bin_edges(np.concatenate([a, b]), bins="sturges").tolist() if numeric else None})

# Plain distance on weight vectors (normalised inside scipy).
js_vectors = []
for p, q in [([1, 0, 0], [0, 1, 0]), ([0.2, 0.3, 0.5], [0.25, 0.25, 0.5]), ([5, 3, 2, 0], [1, 1, 1, 1]), ([0.1] * 10, [0.1] * 10)]:
    js_vectors.append({"p": p, "q": q, "distance": float(distance.jensenshannon(p, q))})

# Chi-squared and normal tails directly.
chi2_sf = [{"x": x, "df": df, "sf": float(stats.chi2.sf(x, df))} for df in [1, 2, 5, 9, 30, 199] for x in [0.01, 0.5, 1, 3, 8, 20, 60, 250]]

json.dump(
    {
        "generator": "packages/monitor/scripts/scipy-fixtures.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "ks_2samp_asymp": ks,
        "kstwo_sf": kstwo,
        "chisquare_evidently": chisq,
        "ztest_evidently": ztests,
        "wasserstein": wass,
        "binned_evidently": binned_cases,
        "jensenshannon": js_vectors,
        "chi2_sf": chi2_sf,
    },
    sys.stdout,
)
sys.stdout.write("\n")
