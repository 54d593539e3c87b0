#!/usr/bin/env python3
"""Records the scikit-learn reference values test/ml-peer.test.ts asserts against, so the test
needs no Python. Run once (and again only to refresh the reference), with Debian's python3 and
python3-sklearn 1.2.1:

    /usr/bin/python3 test/data/ml-reference/record.py ../shared/peers test/data/ml-reference

Writes little-endian arrays and reference.json (versions, sizes, AUC, inertia).
The data: the peers' own N x 4 generator (sklearn_iforest.make_data: three Gaussian clusters and
1 % uniform outliers) for the isolation forest; make_blobs (6 centres) for k-means.
"""
import importlib.util
import json
import sys

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

peers, out = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("peer", f"{peers}/sklearn_iforest.py")
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)

N = 10_000
X, y = peer.make_data(N, 0)
X.astype("<f8").tofile(f"{out}/iforest-X.f64")
y.astype("u1").tofile(f"{out}/iforest-y.u8")
iso = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(X)
s = -iso.score_samples(X)
s.astype("<f8").tofile(f"{out}/iforest-sklearn-score.f64")
# How closely two scikit-learn forests that differ only in their seed agree: the yardstick for
# how closely huntbook's forest (another seed, another RNG) can be expected to agree.
from scipy.stats import spearmanr
seeds = [-IsolationForest(n_estimators=100, max_samples=256, random_state=r).fit(X).score_samples(X) for r in (1, 2, 3)]
self_rho = min(spearmanr(s, other).correlation for other in seeds)

NB = 20_000
Xb, yb = make_blobs(n_samples=NB, centers=6, n_features=4, cluster_std=1.0, random_state=0)
Xb.astype("<f8").tofile(f"{out}/blobs-X.f64")
km = KMeans(n_clusters=6, n_init=10, random_state=0).fit(Xb)
km.labels_.astype("u1").tofile(f"{out}/blobs-sklearn-labels.u8")

json.dump({
    "sklearn": sklearn.__version__, "numpy": np.__version__,
    "iforest": {"n": N, "cols": 4, "n_estimators": 100, "max_samples": 256, "random_state": 0, "auc": round(roc_auc_score(y, s), 6), "spearman_other_seeds_min": round(float(self_rho), 6)},
    "kmeans": {"n": NB, "cols": 4, "k": 6, "n_init": 10, "random_state": 0, "inertia": float(km.inertia_)},
}, open(f"{out}/reference.json", "w"), indent=2)
print(open(f"{out}/reference.json").read())
