"""The engine alone on the benchmark's frames: decode, detect, align, embed and search, with nothing else running.

No Django model import at module level: the parallel measurement spawns processes that import this module
(to find `_engine_process`) before they set Django up.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, replace

import django
from django.conf import settings

from lfr_governance.faces import engine_config, get_engine
from matching.engine import Gallery, decode_image, load_engine

from .frames import BenchmarkFrame


@dataclass
class EngineRun:
    fps: float
    cpu_ms: float  # CPU per frame
    description: str


def _engine_loop(engine, gallery: Gallery, threshold: float, frames: list[BenchmarkFrame], count: int,
                 offset: int = 0, warm: bool = True):
    def one(frame: BenchmarkFrame) -> None:
        _, embeddings = engine.templates(decode_image(frame.jpeg))
        if len(embeddings):
            gallery.search(embeddings, k=1, threshold=threshold)

    if warm:
        for frame in frames[:5]:
            one(frame)
    cpu_before, started = time.process_time(), time.perf_counter()
    for index in range(count):
        one(frames[(index + offset) % len(frames)])
    return count, time.perf_counter() - started, time.process_time() - cpu_before


def _engine_process(pack_id, gallery, threshold, frames, count, offset, rounds, start, answers) -> None:
    """One of the parallel engine processes: its own engine with one ONNX thread, as a worker process has."""
    django.setup()  # a spawned process starts bare: settings first, then the engine
    engine = load_engine(pack_id, replace(engine_config(), intra_op_threads=1))
    for number in range(rounds):
        start.wait()  # every process starts each round together
        answers.put((number, _engine_loop(engine, gallery, threshold, frames, count, offset, warm=number == 0)))


def engine_throughput(frames: list[BenchmarkFrame], *, pack_id: str, gallery: Gallery, threshold: float, count: int,
                      processes: int = 0, rounds: int = 3) -> tuple[EngineRun, EngineRun | None]:
    """The engine alone on the same frames and gallery, with nothing else running: in one process with its
    configured threads, and in `processes` processes of one thread each at once (the way the worker runs it,
    using every core). Each is the best of `rounds` rounds: the engine's own throughput is its best on this
    machine, so a slow round (another program, a busy host) cannot flatter the pipeline's ratio."""
    parallel = None
    if processes > 1:
        # Spawned, not forked: a fork would inherit this process's open sockets (the broker connection among
        # them) and its locks, and can hang in the child's clean-up.
        context = multiprocessing.get_context("spawn")
        start, answers = context.Barrier(processes), context.Queue()
        children = [context.Process(target=_engine_process, args=(pack_id, gallery, threshold,
                                                                  frames, count, k * 7, rounds, start, answers))
                    for k in range(processes)]
        for child in children:
            child.start()
        by_round: dict[int, list] = {}
        for _ in range(processes * rounds):
            number, run = answers.get(timeout=600)
            by_round.setdefault(number, []).append(run)
        for child in children:
            child.join(30)
        best = max(by_round.values(), key=lambda runs: sum(n / seconds for n, seconds, _ in runs))
        parallel = EngineRun(sum(n / seconds for n, seconds, _ in best),
                             sum(cpu for *_, cpu in best) / sum(n for n, *_ in best) * 1000,
                             f"{processes} processes x 1 ONNX thread")
    engine = get_engine(pack_id)
    runs = [_engine_loop(engine, gallery, threshold, frames, count, warm=number == 0)
            for number in range(rounds)]
    n, seconds, cpu = max(runs, key=lambda run: run[0] / run[1])
    single = EngineRun(n / seconds, cpu / n * 1000, f"one process, {settings.LFR_ONNX_THREADS} ONNX thread(s)")
    single.description = f"{single.description}; {engine.pack.id}, {', '.join(engine.providers)}; best of {rounds}"
    if parallel:
        parallel.description = f"{parallel.description}, best of {rounds}"
    return single, parallel
