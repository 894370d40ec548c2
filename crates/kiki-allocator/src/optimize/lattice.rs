//! A global view of non-concave problems: the best allocation on a lattice
//! of equal budget steps above the minimums, by dynamic programming over the
//! lines.
//!
//! With S-shaped curves the objective has several local optima, and the
//! optimum may keep a platform below its inflection point (on the convex
//! part of its curve) when the budget or the target is tight; no start
//! derived from the dual need lie in its basin. The lattice search sees
//! every combination of spend levels, so its best point lies in the basin of
//! the global optimum up to the lattice's resolution, and the local search
//! then refines it.
//!
//! The state of the dynamic programme is the number of steps spent so far;
//! each state keeps the allocations of the lines seen so far that are not
//! dominated in (objective, target constraint). Without a target, or when the
//! target weighs the lines as the objective does (a CPA target on
//! conversions, a ROAS target on revenue or net profit), one allocation per
//! state survives and the search is exact in `O(n·steps²)`. Otherwise (a CPA
//! target on revenue or net profit, a ROAS target on conversions) the
//! trade-off between objective and target is kept, thinned to a bounded
//! number of allocations per state beyond a few lines.

use super::*;

/// An allocation of the lines seen so far, reaching one state.
#[derive(Debug, Clone, Copy)]
struct Node {
    objective: f64,
    constraint: f64,
    /// Index of the predecessor in the previous layer.
    from: u32,
    /// Steps given to the line of this layer.
    steps: u16,
    /// Which part of its curve every line seen so far is on, hashed.
    pattern: u64,
}

/// One line's layer: the surviving allocations of every state, flattened.
struct Layer {
    nodes: Vec<Node>,
    /// `nodes[start[b]..start[b + 1]]` reach state `b`.
    start: Vec<usize>,
}

/// Spend levels `lo + j·step` of every line and the objective and
/// constraint terms there.
pub(super) struct Lattice {
    pub(super) step: f64,
    steps: usize,
    /// Per line and level: (objective term, constraint term).
    terms: Vec<Vec<(f64, f64)>>,
    /// Per line: the levels above zero below this one are on the convex
    /// part of the curve (below the inflection point of an S-shaped curve).
    convex_until: Vec<usize>,
    /// Most allocations kept per state.
    keep: usize,
}

/// The lattice's resolution and the most allocations kept per state for a
/// problem of `n` lines, bounding the work to about `n·steps²·keep / 2`
/// candidate allocations.
fn resolution(v: &Valid, w: &Weights) -> (usize, usize) {
    let n = v.lines.len();
    // Whether the target weighs the lines as the objective does (t ∝ c):
    // then at a given spend the constraint grows with the objective and one
    // allocation per state is enough.
    let proportional = (0..n).all(|i| {
        (0..n).all(|j| {
            let (a, b) = (w.c[i] * w.t[j], w.c[j] * w.t[i]);
            (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
        })
    });
    if v.target.is_none() || proportional {
        let steps = match n {
            0..=4 => 256,
            5..=16 => 128,
            _ => 64,
        };
        return (steps, 1);
    }
    match n {
        // Two lines before the last: the whole front (at most steps + 1).
        0..=3 => (128, usize::MAX),
        4..=6 => (64, 12),
        7..=12 => (48, 12),
        _ => (32, 8),
    }
}

impl Lattice {
    /// `None` when the minimums leave no budget to place.
    pub(super) fn new(v: &Valid, w: &Weights) -> Option<Self> {
        let (steps, keep) = resolution(v, w);
        let lo_total: f64 = v.lines.iter().map(|l| l.lo).sum();
        let free = v.budget - lo_total;
        if free.is_nan() || free <= 0.0 {
            return None;
        }
        let step = free / steps as f64;
        let terms = v
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let room = ((l.hi - l.lo) / step * (1.0 + 1e-12)).floor();
                let top = if room.is_finite() && room > 0.0 {
                    (room as usize).min(steps)
                } else {
                    0
                };
                (0..=top)
                    .map(|j| {
                        let x = l.lo + j as f64 * step;
                        (w.objective_of(i, l, x), w.constraint_of(i, l, x))
                    })
                    .collect()
            })
            .collect();
        let convex_until = v
            .lines
            .iter()
            .map(|l| {
                let s = l.curve.hill.shape;
                if s <= 1.0 {
                    return 0;
                }
                let inflection =
                    l.curve.hill.half_saturation * ((s - 1.0) / (s + 1.0)).powf(1.0 / s);
                let levels = ((inflection - l.lo) / step).ceil();
                if levels > 0.0 {
                    levels.min((steps + 1) as f64) as usize
                } else {
                    0
                }
            })
            .collect();
        Some(Lattice {
            step,
            steps,
            terms,
            convex_until,
            keep,
        })
    }

    /// The best lattice allocations that meet the target (within `tol`), in
    /// steps per line, best first: the best one for each of up to `count`
    /// patterns (which lines are at their minimum, on the convex part of
    /// their curve, or past it), so that the local search can start in
    /// every basin whose lattice value is close to the best. Near a binding
    /// target the lattice misses the best value of a basin by up to a step's
    /// worth of objective, so the best lattice point alone may lie in the
    /// wrong basin.
    fn search(&self, targeted: bool, tol: f64, count: usize) -> Vec<Vec<usize>> {
        let g = self.steps;
        let n = self.terms.len();
        let mut layers: Vec<Layer> = Vec::with_capacity(n);
        let mut previous = Layer {
            nodes: vec![Node {
                objective: 0.0,
                constraint: 0.0,
                from: 0,
                steps: 0,
                pattern: 0,
            }],
            start: std::iter::once(0)
                .chain(std::iter::repeat_n(1, g + 1))
                .collect(),
        };
        let mut candidates: Vec<Node> = Vec::new();
        // (objective, pattern, node in the last layer), best first.
        let mut best: Vec<(f64, u64, usize)> = Vec::with_capacity(count + 1);
        for (i, terms) in self.terms.iter().enumerate() {
            let last = i + 1 == n;
            let mut layer = Layer {
                nodes: Vec::new(),
                start: Vec::with_capacity(g + 2),
            };
            for b in 0..=g {
                layer.start.push(layer.nodes.len());
                // Line `i` at level `j` after predecessor `k`.
                let node = |j: usize, k: usize| {
                    let p = previous.nodes[k];
                    let (o, c) = terms[j];
                    let part = match j {
                        0 => 1,
                        _ if j < self.convex_until[i] => 2,
                        _ => 3,
                    };
                    Node {
                        objective: p.objective + o,
                        constraint: p.constraint + c,
                        from: k as u32,
                        steps: j as u16,
                        pattern: p.pattern.wrapping_mul(0x0000_0100_0000_01b3) ^ part,
                    }
                };
                if self.keep == 1 && !last {
                    // One allocation per state: the best objective.
                    let mut top: Option<(f64, usize, usize)> = None;
                    for (j, &(o, _)) in terms.iter().enumerate().take(b + 1) {
                        let k = previous.start[b - j];
                        if k < previous.start[b - j + 1] {
                            let value = previous.nodes[k].objective + o;
                            if top.is_none_or(|t| value > t.0) {
                                top = Some((value, j, k));
                            }
                        }
                    }
                    layer.nodes.extend(top.map(|(_, j, k)| node(j, k)));
                    continue;
                }
                candidates.clear();
                for j in 0..terms.len().min(b + 1) {
                    for k in previous.start[b - j]..previous.start[b - j + 1] {
                        candidates.push(node(j, k));
                    }
                }
                if last {
                    // Only the best allocations that meet the target matter.
                    for node in &candidates {
                        if (targeted && node.constraint < -tol)
                            || best.len() == count
                                && best.last().is_some_and(|w| node.objective <= w.0)
                        {
                            continue;
                        }
                        match best.iter().position(|e| e.1 == node.pattern) {
                            Some(e) if best[e].0 >= node.objective => continue,
                            Some(e) => {
                                best.remove(e);
                            }
                            None => {}
                        }
                        let at = best.partition_point(|e| e.0 >= node.objective);
                        best.insert(at, (node.objective, node.pattern, layer.nodes.len()));
                        best.truncate(count);
                        layer.nodes.push(*node);
                    }
                    continue;
                }
                self.keep_front(&mut candidates, &mut layer.nodes);
            }
            layer.start.push(layer.nodes.len());
            layers.push(std::mem::replace(&mut previous, layer));
        }
        layers.push(previous);
        best.iter()
            .map(|&(_, _, mut k)| {
                let mut out = vec![0usize; n];
                for i in (0..n).rev() {
                    let node = layers[i + 1].nodes[k];
                    out[i] = node.steps as usize;
                    k = node.from as usize;
                }
                out
            })
            .collect()
    }

    /// Appends the candidates that no other candidate beats on both the
    /// objective and the constraint, thinned evenly to `keep`.
    fn keep_front(&self, candidates: &mut [Node], out: &mut Vec<Node>) {
        if candidates.is_empty() {
            return;
        }
        // By constraint, best first; each survivor must beat the objective
        // of every allocation with a better constraint.
        candidates.sort_unstable_by(|a, b| {
            b.constraint
                .total_cmp(&a.constraint)
                .then(b.objective.total_cmp(&a.objective))
        });
        let first = out.len();
        let mut top = f64::NEG_INFINITY;
        for node in candidates.iter() {
            if node.objective > top {
                top = node.objective;
                out.push(*node);
            }
        }
        let found = out.len() - first;
        if found > self.keep {
            // Keep both ends and evenly spaced ones between.
            for k in 0..self.keep {
                let at = first + k * (found - 1) / (self.keep - 1);
                out[first + k] = out[at];
            }
            out.truncate(first + self.keep);
        }
    }
}

/// The best lattice allocations that meet the target, in major units, best
/// first, at most one per pattern and `count` in all; empty when no lattice
/// point meets the target.
pub(super) fn lattice_starts(v: &Valid, lattice: &Lattice, count: usize) -> Vec<Vec<f64>> {
    lattice
        .search(v.target.is_some(), tolerance(v), count)
        .into_iter()
        .map(|steps| {
            steps
                .iter()
                .zip(&v.lines)
                .map(|(&j, l)| l.lo + j as f64 * lattice.step)
                .collect()
        })
        .collect()
}
