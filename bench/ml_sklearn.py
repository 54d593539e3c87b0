#!/usr/bin/env python3
"""Peer side of bench/ml.ts: scikit-learn on the same data huntbook scores.

Imports make_data from shared/peers/sklearn_iforest.py (the peers' own N x 4 data with 1 %
planted outliers), fits IsolationForest(n_estimators=100, max_samples=256, random_state=0),
scores it in 100k-row chunks (the faster way with sklearn 1.2.1), and KMeans on make_blobs.
Writes raw little-endian arrays for the Node side and prints one JSON line.
Usage: ml_sklearn.py PEERS_DIR OUT_DIR N [N ...]
"""
import importlib.util
import json
import sys
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

peers, out, sizes = sys.argv[1], sys.argv[2], [int(n) for n in sys.argv[3:]]
spec = importlib.util.spec_from_file_location("peer", f"{peers}/sklearn_iforest.py")
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)

result = {"iforest": [], "kmeans": None}
for n in sizes:
    X, y = peer.make_data(n, 0)
    X.astype("<f8").tofile(f"{out}/X{n}.f64")
    y.astype("u1").tofile(f"{out}/y{n}.u8")
    iso = IsolationForest(n_estimators=100, max_samples=256, random_state=0)
    t0 = time.perf_counter()
    iso.fit(X)
    t1 = time.perf_counter()
    s = np.concatenate([iso.score_samples(X[i:i + 100_000]) for i in range(0, n, 100_000)])
    t2 = time.perf_counter()
    (-s).astype("<f8").tofile(f"{out}/sk{n}.f64")
    result["iforest"].append(dict(n=n, fit_s=round(t1 - t0, 3), score_chunked_s=round(t2 - t1, 3), auc=round(roc_auc_score(y, -s), 5)))

Xb, yb = make_blobs(n_samples=100_000, centers=6, n_features=4, cluster_std=1.0, random_state=0)
Xb.astype("<f8").tofile(f"{out}/blobs.f64")
t0 = time.perf_counter()
km = KMeans(n_clusters=6, n_init=10, random_state=0).fit(Xb)
result["kmeans"] = dict(n=100_000, k=6, fit_s=round(time.perf_counter() - t0, 3), inertia=float(km.inertia_))
km.labels_.astype("<i4").tofile(f"{out}/blobs_sk.i32")
yb.astype("<i4").tofile(f"{out}/blobs_true.i32")
print(json.dumps(result))
