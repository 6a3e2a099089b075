"""manage.py benchmark_engine [--pack ID ...] [--repeats N]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from matching.engine import EngineError, benchmark
from matching.management import engine_config_from_settings, faces_dir_from_settings


class Command(BaseCommand):
    help = (
        "Time detection, alignment, embedding and 1:N search per model pack, and whole frames of a crowd (5 people "
        "crossing a street scene at 5 frames/s) through tracking, embedding every face and with the tracks' reuse."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pack", action="append", dest="packs", help="pack id (repeatable; default every pack that loads)"
        )
        parser.add_argument("--repeats", type=int, default=benchmark.DEFAULT_REPEATS,
                            help="timed runs per figure (the crowd runs repeats // 10 passes, at least one)")
        parser.add_argument("--faces", type=Path, help="shared faces folder holding deepface/ (default LFR_FACES_DIR)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            benchmark.main(
                pack_ids=options["packs"],
                repeats=options["repeats"],
                faces_dir=options["faces"] or faces_dir_from_settings(),
                config=engine_config_from_settings(),
                write=self.stdout.write,
            )
        except (EngineError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
