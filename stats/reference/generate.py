#!/usr/bin/env python3
"""Generate stats/tests/reference.json: reference outputs for verdict-stats.

Sources of truth:
* gbstats 0.8.0 (TwoSidedTTest, SequentialTwoSidedTTest, EffectBayesianABTest with
  ProportionStatistic / SampleMeanStatistic / RatioStatistic /
  RegressionAdjustedStatistic) for every engine, difference type and metric type
  it supports;
* CUPED for ratio metrics is not in any released gbstats, so it is computed here
  independently from the raw per-unit data (numpy covariance matrix of
  (m, d, m_pre, d_pre) and the delta-method gradient), following the design of
  gbstats' RegressionAdjustedRatioStatistic;
* scipy.stats.ttest_ind_from_stats cross-checks the absolute Welch tests,
  scipy.stats.chisquare the SRM, statsmodels multipletests Holm / BH, and
  scipy.stats.norm the closed-form power formula, and scipy.stats.fisher_exact
  the two-sided Fisher exact test.

Usage:  pip install -r requirements.txt && python generate.py
"""
import importlib.metadata
import json
import math
from pathlib import Path

import numpy as np
import scipy.stats
from statsmodels.stats.multitest import multipletests

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    ProportionStatistic,
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)

OUT = Path(__file__).resolve().parent.parent / "tests" / "reference.json"
rng = np.random.default_rng(20240601)


# ---------------------------------------------------------------- data

def arm_mean(name, x, pre=None):
    a = {"name": name, "n": len(x), "sum": float(np.sum(x)), "sum_squares": float(np.sum(x * x))}
    if pre is not None:
        a["pre_sum"] = float(np.sum(pre))
        a["pre_sum_squares"] = float(np.sum(pre * pre))
        a["post_pre_sum_product"] = float(np.sum(x * pre))
    return a


def arm_ratio(name, m, d, mp=None, dp=None):
    a = {
        "name": name,
        "n": len(m),
        "numerator_sum": float(np.sum(m)),
        "numerator_sum_squares": float(np.sum(m * m)),
        "denominator_sum": float(np.sum(d)),
        "denominator_sum_squares": float(np.sum(d * d)),
        "numerator_denominator_sum_product": float(np.sum(m * d)),
    }
    if mp is not None:
        a.update(
            pre_numerator_sum=float(np.sum(mp)),
            pre_numerator_sum_squares=float(np.sum(mp * mp)),
            pre_denominator_sum=float(np.sum(dp)),
            pre_denominator_sum_squares=float(np.sum(dp * dp)),
            numerator_pre_numerator_sum_product=float(np.sum(m * mp)),
            denominator_pre_denominator_sum_product=float(np.sum(d * dp)),
            pre_numerator_pre_denominator_sum_product=float(np.sum(mp * dp)),
            numerator_pre_denominator_sum_product=float(np.sum(m * dp)),
            denominator_pre_numerator_sum_product=float(np.sum(d * mp)),
        )
    return a


def binomial_arm(name, n, p, pre_p=None):
    x = (rng.random(n) < p).astype(float)
    if pre_p is None:
        return arm_mean(name, x)
    # correlated pre-period conversion
    pre = np.where(rng.random(n) < 0.6, x, (rng.random(n) < pre_p).astype(float))
    return arm_mean(name, x, pre)


def mean_arm(name, n, mu, sd, cuped=False):
    pre = rng.gamma(2.0, mu / 2.0, n)
    x = np.round(0.6 * pre + rng.normal(mu * 0.4, sd, n), 2)
    return arm_mean(name, x, pre.round(2) if cuped else None)


def ratio_raw(n, rate, lift=0.0):
    d = rng.poisson(3.0, n).astype(float) + 1.0
    dp = np.maximum(d + rng.integers(-1, 2, n), 1.0)
    mp = rng.gamma(2.0, rate * dp / 2.0)
    m = np.round(0.5 * mp * d / dp + rng.gamma(2.0, rate * (1 + lift) * d / 4.0), 2)
    return m, d, mp.round(2), dp


# ---------------------------------------------------------------- gbstats glue

def component(kind, n, s, ss):
    return ProportionStatistic(n=n, sum=s) if kind == "binomial" else SampleMeanStatistic(n=n, sum=s, sum_squares=ss)


def gb_stat(metric, arm):
    t = metric["type"]
    n = int(arm["n"])
    if t in ("binomial", "mean"):
        post = component(t, n, arm["sum"], arm.get("sum_squares", arm["sum"]))
        if not metric.get("cuped"):
            return post
        pre = component(metric.get("pre") or t, n, arm["pre_sum"], arm["pre_sum_squares"])
        return RegressionAdjustedStatistic(
            n=n, post_statistic=post, pre_statistic=pre,
            post_pre_sum_of_products=arm["post_pre_sum_product"], theta=0,
        )
    m = component(metric.get("numerator") or "mean", n, arm["numerator_sum"], arm["numerator_sum_squares"])
    d = component(metric.get("denominator") or "mean", n, arm["denominator_sum"], arm["denominator_sum_squares"])
    return RatioStatistic(n=n, m_statistic=m, d_statistic=d, m_d_sum_of_products=arm["numerator_denominator_sum_product"])


def gb_compare(req, a_arm, b_arm):
    metric = req["metric"]
    a, b = gb_stat(metric, a_arm), gb_stat(metric, b_arm)
    diff = req.get("difference", "relative")
    alpha = req.get("alpha", 0.05)
    engine = req.get("engine", "frequentist")
    out = {"arm": b_arm["name"]}
    if engine == "bayesian":
        prior = req.get("prior", {})
        cfg = EffectBayesianConfig(
            difference_type=diff, alpha=alpha, inverse=metric.get("inverse", False),
            prior_type="relative",
            prior_effect=GaussianPrior(
                mean=prior.get("mean", 0.0), variance=prior.get("stddev", 0.1) ** 2,
                proper=prior.get("proper", False),
            ),
        )
        test = EffectBayesianABTest(a, b, cfg)
        r = test.compute_result()
        if r.error_message:
            return out, r.error_message
        out.update(
            estimate=r.expected, se=r.uplift.stddev, ci_lower=r.ci[0], ci_upper=r.ci[1],
            chance_to_win=r.chance_to_win, risk_control=r.risk[0], risk_treatment=r.risk[1],
        )
    else:
        if engine == "sequential":
            test = SequentialTwoSidedTTest(a, b, SequentialConfig(
                difference_type=diff, alpha=alpha,
                sequential_tuning_parameter=req.get("sequential_tuning", 5000)))
        else:
            test = TwoSidedTTest(a, b, FrequentistConfig(difference_type=diff, alpha=alpha))
        r = test.compute_result()
        if r.error_message:
            return out, r.error_message
        out.update(estimate=r.expected, se=r.uplift.stddev, ci_lower=r.ci[0], ci_upper=r.ci[1], p_value=r.p_value)
        if engine == "frequentist":
            out["df"] = float(test.dof)
            if diff == "absolute" and metric["type"] == "mean" and not metric.get("cuped"):
                sa, sb = test.stat_a, test.stat_b
                tt = scipy.stats.ttest_ind_from_stats(
                    sb.mean, math.sqrt(sb.variance), sb.n, sa.mean, math.sqrt(sa.variance), sa.n, equal_var=False)
                assert abs(tt.pvalue - r.p_value) < 1e-12, (tt.pvalue, r.p_value)
    out["baseline"] = a.unadjusted_mean
    return out, None


# ---------------------------------------------------------------- CUPED ratio (numpy, from raw data)

def cuped_ratio_reference(raw_a, raw_b, diff, alpha):
    arms = []
    for m, d, mp, dp in (raw_a, raw_b):
        X = np.column_stack([m, d, mp, dp])
        lam = np.cov(X, rowvar=False, ddof=1)
        beta = X.mean(axis=0)
        g = np.array([1 / beta[1], -beta[0] / beta[1] ** 2])
        h = np.array([1 / beta[3], -beta[2] / beta[3] ** 2])
        arms.append((len(m), beta, lam, g, h))
    num = sum(g @ lam[0:2, 2:4] @ h for _, _, lam, g, h in arms)
    den = sum(h @ lam[2:4, 2:4] @ h for _, _, lam, g, h in arms)
    theta = num / den
    stats = []
    for n, beta, lam, g, h in arms:
        grad = np.concatenate([g, -theta * h])
        stats.append(dict(n=n, mean=beta[0] / beta[1] - theta * beta[2] / beta[3],
                          unadj=beta[0] / beta[1], var=grad @ lam @ grad))
    a, b = stats
    if diff == "relative":
        est = (b["mean"] - a["mean"]) / a["unadj"]
        var = b["var"] / (a["unadj"] ** 2 * b["n"]) + a["var"] * b["unadj"] ** 2 / (a["unadj"] ** 4 * a["n"])
    else:
        est = b["mean"] - a["mean"]
        var = b["var"] / b["n"] + a["var"] / a["n"]
    va, vb = a["var"] / a["n"], b["var"] / b["n"]
    df = (va + vb) ** 2 / (vb ** 2 / (b["n"] - 1) + va ** 2 / (a["n"] - 1))
    se = math.sqrt(var)
    half = scipy.stats.t.ppf(1 - alpha / 2, df) * se
    return dict(estimate=est, se=se, ci_lower=est - half, ci_upper=est + half,
                p_value=2 * scipy.stats.t.sf(abs(est / se), df), df=df, baseline=a["unadj"])


# ---------------------------------------------------------------- cases

def srm_expected(arms, weights):
    obs = np.array([a["n"] for a in arms], dtype=float)
    w = np.ones(len(arms)) if weights is None else np.array(weights, dtype=float)
    exp = w / w.sum() * obs.sum()
    r = scipy.stats.chisquare(obs, exp)
    return {"chi_square": float(r.statistic), "p_value": float(r.pvalue), "mismatch": bool(r.pvalue < 0.001)}


def analyze_case(name, req, errors=None, covers=""):
    """errors: {arm_name: substring of the expected Rust error}."""
    errors = errors or {}
    comps, raw_p = [], []
    for arm in req["arms"][1:]:
        out, gb_err = gb_compare(req, req["arms"][0], arm)
        if arm["name"] in errors:
            comps.append({"arm": arm["name"], "error_contains": errors[arm["name"]], "gbstats_error": gb_err})
            continue
        assert gb_err is None, (name, gb_err)
        comps.append(out)
        if "p_value" in out:
            raw_p.append(out["p_value"])
    if raw_p:
        adj = multipletests(raw_p, method="holm")[1]
        it = iter(adj)
        for c in comps:
            if "p_value" in c:
                c["p_value_adjusted"] = float(next(it))
    return {"name": name, "covers": covers, "request": req,
            "expected": {"srm": srm_expected(req["arms"], req.get("weights")), "comparisons": comps}}


def build():
    cases = []
    binom = [binomial_arm("control", 5000, 0.10), binomial_arm("treatment", 5100, 0.115)]
    for diff in ("relative", "absolute"):
        cases.append(analyze_case(f"binomial_{diff}_frequentist",
                                  {"metric": {"type": "binomial"}, "difference": diff, "arms": binom},
                                  covers="binomial, Welch t, " + diff))
    mean = [mean_arm("control", 800, 20.0, 8.0), mean_arm("treatment", 760, 21.0, 9.0)]
    for diff in ("relative", "absolute"):
        cases.append(analyze_case(f"mean_{diff}_frequentist",
                                  {"metric": {"type": "mean"}, "difference": diff, "alpha": 0.1, "arms": mean},
                                  covers="mean, Welch t (scipy cross-checked when absolute), alpha 0.1"))
    ra, rb = ratio_raw(1500, 2.0), ratio_raw(1450, 2.0, 0.08)
    ratio = [arm_ratio("control", *ra[:2]), arm_ratio("treatment", *rb[:2])]
    for diff in ("relative", "absolute"):
        cases.append(analyze_case(f"ratio_{diff}_frequentist",
                                  {"metric": {"type": "ratio"}, "difference": diff, "arms": ratio},
                                  covers="ratio (delta method)"))
    # ratio with binomial numerator (conversions per session)
    conv_a = (rng.random(1200) < 0.3).astype(float); sess_a = rng.poisson(2.0, 1200) + 1.0
    conv_b = (rng.random(1300) < 0.34).astype(float); sess_b = rng.poisson(2.0, 1300) + 1.0
    cases.append(analyze_case("ratio_binomial_numerator_absolute",
                              {"metric": {"type": "ratio", "numerator": "binomial", "denominator": "mean"},
                               "difference": "absolute", "arms": [arm_ratio("control", conv_a, sess_a), arm_ratio("treatment", conv_b, sess_b)]},
                              covers="ratio with binomial numerator component"))
    cmean = [mean_arm("control", 900, 30.0, 6.0, cuped=True), mean_arm("treatment", 950, 31.0, 6.0, cuped=True)]
    for diff in ("relative", "absolute"):
        cases.append(analyze_case(f"cuped_mean_{diff}_frequentist",
                                  {"metric": {"type": "mean", "cuped": True}, "difference": diff, "arms": cmean},
                                  covers="CUPED mean (pooled theta)"))
    cbin = [binomial_arm("control", 4000, 0.2, pre_p=0.2), binomial_arm("treatment", 4100, 0.22, pre_p=0.2)]
    cases.append(analyze_case("cuped_binomial_relative_frequentist",
                              {"metric": {"type": "binomial", "cuped": True}, "arms": cbin},
                              covers="CUPED binomial with binomial covariate"))
    cases.append(analyze_case("cuped_mean_sequential",
                              {"metric": {"type": "mean", "cuped": True}, "engine": "sequential", "arms": cmean},
                              covers="CUPED + sequential"))
    # CUPED ratio: numpy reference from raw data
    for diff in ("relative", "absolute"):
        req = {"metric": {"type": "ratio", "cuped": True}, "difference": diff,
               "arms": [arm_ratio("control", *ra), arm_ratio("treatment", *rb)]}
        exp = cuped_ratio_reference(ra, rb, diff, 0.05)
        exp["arm"] = "treatment"
        exp["p_value_adjusted"] = exp["p_value"]
        cases.append({"name": f"cuped_ratio_{diff}_frequentist", "covers": "CUPED ratio (numpy delta method from raw data)",
                      "request": req, "expected": {"srm": srm_expected(req["arms"], None), "comparisons": [exp]}})
    three = [mean_arm("control", 1000, 10.0, 4.0), mean_arm("b", 1010, 10.4, 4.0), mean_arm("c", 990, 10.1, 4.5)]
    cases.append(analyze_case("three_arm_holm_frequentist",
                              {"metric": {"type": "mean"}, "weights": [1, 1, 1], "arms": three},
                              covers="multi-arm, Holm across arms"))
    cases.append(analyze_case("three_arm_sequential_tuning",
                              {"metric": {"type": "mean"}, "engine": "sequential", "sequential_tuning": 1000, "arms": three},
                              covers="multi-arm sequential, tuning 1000, Holm"))
    for diff in ("relative", "absolute"):
        cases.append(analyze_case(f"binomial_{diff}_sequential",
                                  {"metric": {"type": "binomial"}, "engine": "sequential", "difference": diff, "arms": binom},
                                  covers="sequential confidence sequence"))
    strong = [binomial_arm("control", 20000, 0.10), binomial_arm("treatment", 20000, 0.118)]
    for tuning in (5000, 20000):
        cases.append(analyze_case(f"binomial_strong_sequential_tuning_{tuning}",
                                  {"metric": {"type": "binomial"}, "engine": "sequential", "sequential_tuning": tuning,
                                   "arms": strong}, covers="sequential p-value < 1, tuning"))
    cases.append(analyze_case("cuped_binomial_strong_sequential_absolute",
                              {"metric": {"type": "binomial", "cuped": True}, "engine": "sequential", "difference": "absolute",
                               "alpha": 0.1, "arms": [binomial_arm("control", 15000, 0.2, pre_p=0.2), binomial_arm("treatment", 15000, 0.225, pre_p=0.2)]},
                              covers="sequential CUPED binomial, alpha 0.1"))
    cases.append(analyze_case("ratio_relative_sequential",
                              {"metric": {"type": "ratio"}, "engine": "sequential", "arms": ratio}, covers="ratio sequential"))
    for diff in ("relative", "absolute"):
        cases.append(analyze_case(f"binomial_{diff}_bayesian_flat",
                                  {"metric": {"type": "binomial"}, "engine": "bayesian", "difference": diff, "arms": binom},
                                  covers="Bayesian flat prior"))
        cases.append(analyze_case(f"mean_{diff}_bayesian_proper",
                                  {"metric": {"type": "mean"}, "engine": "bayesian", "difference": diff,
                                   "prior": {"mean": 0.02, "stddev": 0.05, "proper": True}, "arms": mean},
                                  covers="Bayesian proper prior (rescaled for absolute)"))
    inv = [mean_arm("control", 700, 5.0, 2.0), mean_arm("treatment", 720, 4.8, 2.0)]
    cases.append(analyze_case("inverse_mean_bayesian",
                              {"metric": {"type": "mean", "inverse": True}, "engine": "bayesian",
                               "prior": {"mean": 0.0, "stddev": 0.3, "proper": True}, "arms": inv},
                              covers="inverse metric flips chance to win / risk"))
    cases.append(analyze_case("inverse_mean_frequentist",
                              {"metric": {"type": "mean", "inverse": True}, "arms": inv}, covers="inverse has no effect on frequentist"))
    cases.append(analyze_case("ratio_cuped_free_three_arm_bayesian",
                              {"metric": {"type": "ratio"}, "engine": "bayesian", "arms": ratio + [arm_ratio("t2", *ratio_raw(1400, 2.0, -0.05)[:2])]},
                              covers="Bayesian ratio, three arms (no p-values)"))
    cases.append(analyze_case("srm_mismatch_weighted",
                              {"metric": {"type": "binomial"}, "weights": [0.3, 0.7],
                               "arms": [binomial_arm("control", 5000, 0.1), binomial_arm("treatment", 9000, 0.1)]},
                              covers="SRM with planned weights, mismatch"))
    # ---- degenerate cases
    zero_var = {"name": "flat", "n": 50, "sum": 250.0, "sum_squares": 1250.0}
    cases.append(analyze_case("degenerate_zero_variance",
                              {"metric": {"type": "mean"}, "arms": [mean[0], zero_var, mean[1]]},
                              errors={"flat": "variance"}, covers="zero variance arm, other arm still analysed"))
    zero_ctrl = [{"name": "control", "n": 1000, "sum": 0.0}, {"name": "treatment", "n": 1000, "sum": 12.0}]
    cases.append(analyze_case("degenerate_zero_control_mean",
                              {"metric": {"type": "binomial"}, "arms": zero_ctrl},
                              errors={"treatment": "control mean is zero"}, covers="zero control mean, relative"))
    cases.append(analyze_case("degenerate_zero_control_mean_bayesian",
                              {"metric": {"type": "binomial"}, "engine": "bayesian", "arms": zero_ctrl},
                              errors={"treatment": "control mean is zero"}, covers="zero control mean, Bayesian"))
    tiny = [{"name": "control", "n": 1, "sum": 3.0, "sum_squares": 9.0}, mean[1]]
    cases.append(analyze_case("degenerate_n_le_1",
                              {"metric": {"type": "mean"}, "arms": tiny},
                              errors={"treatment": "too few units"}, covers="n <= 1"))
    cases.append({"name": "degenerate_negative_n", "covers": "negative count",
                  "request": {"metric": {"type": "mean"}, "arms": [mean[0], {"name": "treatment", "n": -5, "sum": 1.0, "sum_squares": 1.0}]},
                  "expected": {"srm": None, "comparisons": [{"arm": "treatment", "error_contains": "invalid input"}]}})
    cases.append({"name": "degenerate_missing_field", "covers": "missing sufficient statistic",
                  "request": {"metric": {"type": "mean", "cuped": True}, "arms": [mean[0], mean[1]]},
                  "expected": {"srm": srm_expected([mean[0], mean[1]], None),
                               "comparisons": [{"arm": "treatment", "error_contains": "missing field `pre_sum`"}]}})
    zden = dict(ratio[1]); zden["denominator_sum"] = 0.0; zden["denominator_sum_squares"] = 0.0
    zden["numerator_denominator_sum_product"] = 0.0
    cases.append({"name": "degenerate_zero_denominator", "covers": "ratio with zero denominator",
                  "request": {"metric": {"type": "ratio"}, "arms": [ratio[0], zden]},
                  "expected": {"srm": srm_expected([ratio[0], zden], None),
                               "comparisons": [{"arm": "treatment", "error_contains": "zero denominator"}]}})
    return cases


def srm_cases():
    out = []
    for obs, w in [([5000, 5100], None), ([1000, 1100, 950], None), ([4000, 6100], [0.4, 0.6]),
                   ([5000, 5500], None), ([100, 150, 200, 250], [1, 1.5, 2, 2.5]), ([500, 400], [2, 1])]:
        exp = np.ones(len(obs)) if w is None else np.array(w, float)
        r = scipy.stats.chisquare(obs, exp / exp.sum() * sum(obs))
        out.append({"observed": obs, "weights": w, "chi_square": float(r.statistic),
                    "p_value": float(r.pvalue), "mismatch": bool(r.pvalue < 0.001)})
    return out


def mt_cases():
    sets = [[0.01, 0.04, 0.03], [0.2, 0.001, 0.5, 0.04, 0.04], [0.9, 0.95], [0.0, 1.0, 0.3],
            [0.012, 0.011, 0.013, 0.5, 0.02, 0.049]]
    return [{"p_values": p, "holm": multipletests(p, method="holm")[1].tolist(),
             "bh": multipletests(p, method="fdr_bh")[1].tolist()} for p in sets]


def power_cases():
    out = []
    for base, mde, alpha, power in [({"rate": 0.1}, 0.05, 0.05, 0.8), ({"rate": 0.02}, 0.1, 0.05, 0.9),
                                    ({"rate": 0.5}, -0.04, 0.01, 0.8),
                                    ({"mean": {"mean": 25.0, "sd": 12.0}}, 0.03, 0.05, 0.8),
                                    ({"mean": {"mean": -3.0, "sd": 1.5}}, 0.1, 0.1, 0.95)]:
        z = scipy.stats.norm.ppf(1 - alpha / 2) + scipy.stats.norm.ppf(power)
        if "rate" in base:
            p0 = base["rate"]; p1 = p0 * (1 + mde)
            v, delta = p0 * (1 - p0) + p1 * (1 - p1), p1 - p0
        else:
            mu, sd = base["mean"]["mean"], base["mean"]["sd"]
            v, delta = 2 * sd * sd, mu * mde
        n = z * z * v / delta ** 2
        out.append({"baseline": base, "mde_relative": mde, "alpha": alpha, "power": power,
                    "n_exact": n, "n_per_arm": math.ceil(n)})
    return out


def t_cases():
    out = []
    for df in [1.0, 2.5, 7.0, 30.0, 250.0, 3000.0, 45000.0, 2.5e5, 3e6, 1e8]:
        for t in [0.05, 0.8, 1.96, 3.3, 6.0]:
            out.append({"t": t, "df": df, "sf": float(scipy.stats.t.sf(t, df))})
        for q in [0.005, 0.025, 0.05, 0.25]:
            out.append({"q": q, "df": df, "isf": float(scipy.stats.t.isf(q, df))})
    return out


def fisher_cases():
    """scipy.stats.fisher_exact two-sided p-values for 2x2 tables [[a, b], [c, d]].

    Its own seeded generator, so the shared `rng` stream (and every value above)
    is unchanged. scipy counts a table as "no more likely" than the observed one
    when pmf <= pmf_observed * (1 + 1e-14); the tie cases below are the ones that
    tolerance decides.
    """
    frng = np.random.default_rng(20240602)
    tables = [
        # small, zeros, symmetric tables and exact ties
        [[3, 3], [3, 3]], [[0, 5], [5, 0]], [[1, 9], [11, 3]], [[8, 2], [1, 5]], [[6, 2], [1, 4]],
        [[2, 3], [3, 2]], [[0, 1], [1, 0]], [[1, 0], [0, 1]], [[5, 0], [0, 5]], [[0, 0], [0, 0]],
        [[0, 0], [3, 4]], [[0, 3], [0, 5]], [[7, 0], [2, 9]], [[15, 0], [0, 15]], [[0, 15], [15, 15]],
        [[4, 6], [6, 4]], [[1, 14], [14, 1]],
        # coincidental exact ties (no symmetry): P([[0,3],[6,8]]) == P([[2,1],[4,10]]), ...
        [[0, 3], [6, 8]], [[2, 1], [4, 10]], [[0, 4], [4, 7]], [[2, 2], [2, 9]], [[0, 6], [3, 8]],
        # bimodal: the observed table is the lower of two equally likely modes
        [[1, 1], [6, 2]], [[0, 3], [2, 5]], [[1634, 1320], [2834, 2287]], [[1402, 793], [6302, 3561]],
        [[4999, 5000], [5001, 5000]],
        # near tie: x = 14 is 8.4e-8 more likely than the observed x = 20, so it is not
        # counted at 1e-14 (0.3136); a 1e-7 slack, or scipy < 1.9's 1e-4, would (0.3944)
        [[20, 38], [40, 106]], [[20, 40], [38, 106]],
        # mid and large counts, mirror ties at large counts, tiny p-values
        [[120, 880], [150, 850]], [[300, 200], [250, 250]], [[45, 455], [70, 430]],
        [[1200, 8800], [1290, 8710]], [[4950, 5050], [5050, 4950]], [[5000, 5000], [5000, 5000]],
        [[2100, 17900], [2300, 17700]], [[22, 0], [0, 102]], [[50, 1], [257, 375]],
        [[94, 48], [3577, 16988]], [[1000, 49000], [1300, 48700]], [[5000, 45000], [5600, 44400]],
        [[9000, 91000], [9400, 90600]],
        # Not here: millions of units, where scipy's own p-value drifts from a 40-digit
        # mpmath sum (3e-9 relative for [[5829225, 5692693], [5760959, 5760959]]);
        # fisher.rs checks that table against mpmath instead.
    ]
    tables += frng.integers(0, 16, size=(12, 2, 2)).tolist()
    for n in frng.integers(100, 900, size=4).tolist():
        p = frng.uniform(0.05, 0.5)
        a, c = frng.binomial(n, p), frng.binomial(n, p * 1.2)
        tables.append([[int(a), n - int(a)], [int(c), n - int(c)]])
    for n in (10_000, 30_000, 50_000):
        a, c = frng.binomial(n, 0.1), frng.binomial(n, 0.104)
        tables.append([[int(a), n - int(a)], [int(c), n - int(c)]])
    return [{"table": t, "p_value": float(scipy.stats.fisher_exact(t).pvalue)} for t in tables]


def main():
    versions = {p: importlib.metadata.version(p) for p in ["gbstats", "numpy", "scipy", "statsmodels", "pandas", "pydantic"]}
    data = {"generator": "stats/reference/generate.py", "versions": versions,
            "analyze": build(), "srm": srm_cases(), "multiple_testing": mt_cases(),
            "power": power_cases(), "student_t": t_cases(), "fisher": fisher_cases()}
    OUT.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    print(f"wrote {OUT} ({len(data['analyze'])} analyze cases, {len(data['fisher'])} Fisher tables)")


if __name__ == "__main__":
    main()
