"""manage.py calibrate_packs [--pack ID ...] [--out DIR] [--faces DIR]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from matching.engine import EngineError, calibration
from matching.management import calibration_dir_from_settings, engine_config_from_settings, faces_dir_from_settings


class Command(BaseCommand):
    help = "Calibrate model packs on the shared face images: ROC, thresholds, accuracy, open-set TPIR/FPIR."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pack", action="append", dest="packs", help="pack id (repeatable; default yunet-sface)")
        parser.add_argument("--out", type=Path, help="output folder (default LFR_CALIBRATION_DIR)")
        parser.add_argument("--faces", type=Path, help="shared faces folder holding deepface/ (default LFR_FACES_DIR)")
        parser.add_argument("--target-fmr", type=float, default=calibration.DEFAULT_TARGET_FMR)
        parser.add_argument(
            "--update-manifests",
            action="store_true",
            help="maintainers: write the thresholds and figures into the committed pack manifests",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            calibration.main(
                pack_ids=options["packs"],
                out_dir=options["out"] or calibration_dir_from_settings(),
                faces_dir=options["faces"] or faces_dir_from_settings(),
                config=engine_config_from_settings(),
                target_fmr=options["target_fmr"],
                update_manifests=bool(options["update_manifests"]),
                write=self.stdout.write,
            )
        except (EngineError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
