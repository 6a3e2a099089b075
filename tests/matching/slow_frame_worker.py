"""A Celery worker whose frame task sleeps before matching, so a test can kill it with a frame in flight.

Test only: `python -m tests.matching.slow_frame_worker -A lfr_governance worker ...` takes celery's own
arguments. The sleep wraps the pipeline's matching step in this process (the prefork children inherit it),
after the payload is fetched from Redis, where a real frame spends its time; the product's frame path has
no such hook.
"""

import os
import sys
import time

import django

SLEEP_SECONDS = float(os.environ.get("LFR_TEST_FRAME_SLEEP_SECONDS", "4.0"))


def _slowed(match):
    def slow_match(*args, **kwargs):
        time.sleep(SLEEP_SECONDS)
        return match(*args, **kwargs)

    return slow_match


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lfr_governance.settings.test")
    django.setup()
    from celery.__main__ import main

    from matching import pipeline

    pipeline._frame_match = _slowed(pipeline._frame_match)
    sys.exit(main())
