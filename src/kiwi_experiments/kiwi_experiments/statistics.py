"""Numbers for comparing success rates honestly: Wilson 95 % intervals for a rate, and McNemar's
exact test for two methods (or rounds) run on the same layouts (paired); 95 % intervals for a mean
(normal) and a median (distribution-free, from the order statistics). Pure, no SciPy."""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial rate (good at 0 %, 100 % and small n)."""
    if n <= 0:
        raise ValueError("no episodes")
    if not 0 <= successes <= n:
        raise ValueError(f"{successes} successes out of {n}")
    p = successes / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return max(0.0, (centre - half) / denominator), min(1.0, (centre + half) / denominator)


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided exact p-value of McNemar's test: of the layouts where exactly one method succeeded,
    `only_first` went to the first and `only_second` to the second; under no difference each is a
    fair coin. 1.0 when no layout tells them apart."""
    n = only_first + only_second
    if n == 0:
        return 1.0
    k = min(only_first, only_second)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_outcomes(first: dict, second: dict) -> dict[str, int]:
    """Success per layout seed of two runs -> counts of both / only first / only second / neither,
    over the seeds both ran."""
    seeds = sorted(set(first) & set(second))
    counts = {"both": 0, "only_first": 0, "only_second": 0, "neither": 0}
    for seed in seeds:
        a, b = bool(first[seed]), bool(second[seed])
        counts["both" if a and b else "only_first" if a else "only_second" if b else "neither"] += 1
    return counts


def rate_text(successes: int, n: int) -> str:
    """'62 % [48, 74] (31/50)'."""
    low, high = wilson_interval(successes, n)
    return f"{100 * successes / n:.0f} % [{100 * low:.0f}, {100 * high:.0f}] ({successes}/{n})"


def mean_interval(values, z: float = Z95) -> tuple[float, float, float]:
    """Mean and its normal 95 % interval (values independent: one per layout)."""
    n = len(values)
    if n < 2:
        raise ValueError("a mean's interval needs two values or more")
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, mean - z * sd / math.sqrt(n), mean + z * sd / math.sqrt(n)


def median_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Median and a distribution-free interval of at least `level`: the order statistics k and
    n + 1 - k with k the largest rank whose binomial(n, 1/2) tail stays under (1 - level) / 2."""
    ordered, n = sorted(values), len(values)
    if n == 0:
        raise ValueError("no values")
    median = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
    tail, k = 0.0, 0
    while k < n // 2:
        tail += math.comb(n, k) / 2**n  # P(fewer than k + 1 values below the median)
        if tail > (1 - level) / 2:
            break
        k += 1
    if k == 0:  # too few values for the level: the whole range
        return median, ordered[0], ordered[-1]
    return median, ordered[k - 1], ordered[n - k]


def paired_t_test(first, second) -> dict:
    """Student's paired t-test of `first` against `second` (one value per repetition, paired by
    position): the differences' mean, SD, t and two-sided p (1.0 when every difference is 0, nan
    when fewer than two pairs)."""
    differences = [a - b for a, b in zip(first, second, strict=True)]
    n = len(differences)
    if n < 2:
        return {
            "n": n,
            "mean": differences[0] if n else math.nan,
            "sd": math.nan,
            "t": math.nan,
            "p": math.nan,
        }
    mean = sum(differences) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1))
    if sd == 0:  # no spread: no test (the same gain twice is not certainty)
        return {"n": n, "mean": mean, "sd": 0.0, "t": math.nan, "p": 1.0 if mean == 0 else math.nan}
    t = mean / (sd / math.sqrt(n))
    return {"n": n, "mean": mean, "sd": sd, "t": t, "p": student_t_two_sided(t, n - 1)}


def student_t_two_sided(t: float, df: int) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom: the regularized incomplete beta
    I_x(df/2, 1/2) at x = df / (df + t^2)."""
    return _incomplete_beta(df / (df + t * t), df / 2, 0.5)


def _incomplete_beta(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast only below this: use the symmetry
        return 1.0 - _incomplete_beta(1 - x, b, a)
    front = (
        math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
        / a
    )
    tiny, f, c, d = 1e-300, 1.0, 1.0, 0.0
    for i in range(400):
        m = i // 2
        if i == 0:
            numerator = 1.0
        elif i % 2 == 0:
            numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + numerator / (c if abs(c) > tiny else tiny)
        f *= c * d
        if abs(1.0 - c * d) < 1e-14:
            break
    return front * (f - 1.0)
