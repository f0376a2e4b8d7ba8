//! Which region to try first: the nearest that is up.

use std::time::Duration;

/// What the edge knows of one regional node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub node: &'a str,
    pub up: bool,
    /// Smoothed round-trip time, once measured.
    pub srtt: Option<Duration>,
}

/// Indices of `candidates` in the order to try them: regions that are up, nearest first
/// (measured before unmeasured, then by id, so the order is stable), then the ones that
/// are down, in the same order — a last resort, as Envoy's panic routing: when the mesh
/// itself is what failed, a region that looks down may still answer HTTP.
pub fn order(candidates: &[Candidate<'_>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (candidates[a], candidates[b]);
        (!a.up, a.srtt.is_none(), a.srtt, a.node).cmp(&(!b.up, b.srtt.is_none(), b.srtt, b.node))
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(node: &str, up: bool, ms: Option<u64>) -> Candidate<'_> {
        Candidate {
            node,
            up,
            srtt: ms.map(Duration::from_millis),
        }
    }

    #[test]
    fn nearest_up_first_then_the_rest() {
        let regions = [
            c("us-east-1", true, Some(80)),
            c("eu-west-1", true, Some(12)),
            c("ap-south-1", false, Some(3)),
            c("eu-central-1", true, None),
            c("sa-east-1", false, None),
        ];
        let names: Vec<&str> = order(&regions).iter().map(|&i| regions[i].node).collect();
        assert_eq!(
            names,
            [
                "eu-west-1",
                "us-east-1",
                "eu-central-1",
                "ap-south-1",
                "sa-east-1"
            ]
        );
    }

    #[test]
    fn ties_are_broken_by_id_and_empty_is_empty() {
        let regions = [c("b", true, Some(5)), c("a", true, Some(5))];
        assert_eq!(order(&regions), [1, 0]);
        assert!(order(&[]).is_empty());
    }
}
