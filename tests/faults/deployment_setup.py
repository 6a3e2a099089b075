"""Run in a subprocess against the fault suite's own servers, as the application role (as `launcher.run` runs
demo_setup): a live deployment over a frozen watchlist of the seven DeepFace people with one edge node (the
benchmark's setup), alerting on a single frame (k = 1, as authorised: the suite shows each photograph as its own
passer-by, on its own camera name), and one retention purge so /healthz's purge check is green before beat's first
run. Prints one JSON line.

    DATABASE_URL=... REDIS_URL=... python -m tests.faults.deployment_setup FACES_DIR
"""

import json
import os
import sys
from pathlib import Path


def main(faces_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lfr_governance.settings.development")
    import django

    django.setup()
    from lfr_governance.retention.services import purge_run
    from tools.benchmarks import pipeline as bench

    # The benchmark's setup creates its deployment with k = 1 (and that shape's proposed thresholds) itself.
    deployment, tokens = bench.benchmark_deployment_setup(faces_dir=Path(faces_dir), nodes=1, stdout=lambda *_: None)
    purge_run()
    node = deployment.edge_nodes.get()
    print(json.dumps({"deployment_id": deployment.pk, "node_id": node.pk, "token": tokens[0],
                      "confirmation_frames": getattr(deployment, "confirmation_frames", 1)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
