"""Plausible training curves: loss decaying with noise, deterministic for a job's seed."""

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    train_loss: float
    train_accuracy: float
    valid_loss: float | None
    valid_accuracy: float | None


def curve(seed: int, total_steps: int, has_validation: bool) -> list[Point]:
    """One point per step, index 0 being step 1."""
    rng = random.Random(seed * 1_000_003 + total_steps)
    start = 1.6 + 1.4 * rng.random()
    floor = 0.02 + 0.25 * rng.random()
    tau = max(1.0, total_steps / (2.5 + 2 * rng.random()))
    gap = 1.05 + 0.15 * rng.random()
    points = []
    for step in range(1, total_steps + 1):
        clean = floor + (start - floor) * math.exp(-step / tau)
        train = max(0.001, clean * (1 + rng.gauss(0, 0.08)))
        valid = max(0.001, clean * gap + abs(rng.gauss(0, 0.03))) if has_validation else None
        points.append(Point(round(train, 5), accuracy(train, rng),
                            None if valid is None else round(valid, 5),
                            None if valid is None else accuracy(valid, rng)))
    return points


def accuracy(loss: float, rng: random.Random) -> float:
    return round(min(1.0, max(0.0, math.exp(-0.9 * loss) + rng.gauss(0, 0.02))), 5)


def metrics_csv(points: list[Point]) -> str:
    """OpenAI's step_metrics.csv; valid columns empty without a validation file."""
    lines = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"]
    for step, p in enumerate(points, start=1):
        valid = ("", "") if p.valid_loss is None else (p.valid_loss, p.valid_accuracy)
        lines.append(f"{step},{p.train_loss},{p.train_accuracy},{valid[0]},{valid[1]}")
    return "\n".join(lines) + "\n"
