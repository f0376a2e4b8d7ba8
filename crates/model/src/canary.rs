//! Canary releases of a stage (API Gateway's `canarySettings`): a share of the stage's
//! traffic served by another deployment, with some stage variables overridden, until the
//! canary is promoted or removed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::DeploymentId;

/// A stage's canary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanarySpec {
    /// The deployment the canary serves.
    pub deployment_id: DeploymentId,
    /// Share of the stage's requests the canary serves, 0.0..=100.0 percent.
    pub percent_traffic: f64,
    /// Stage variables the canary sees instead of the stage's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stage_variable_overrides: BTreeMap<String, String>,
    /// Whether canary requests use the stage's response cache (default: they bypass it,
    /// as in API Gateway, so a canary never fills the cache with its answers).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub use_stage_cache: bool,
}

impl CanarySpec {
    /// Why `percent` cannot be a canary's share, if it cannot.
    pub fn check_percent(percent: f64) -> Result<(), String> {
        if percent.is_finite() && (0.0..=100.0).contains(&percent) {
            Ok(())
        } else {
            Err(format!(
                "percent_traffic {percent} is not a share of traffic: give 0.0 to 100.0"
            ))
        }
    }

    /// The stage's variables as the canary sees them: `stage`'s with the overrides.
    pub fn variables(&self, stage: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut merged = stage.clone();
        merged.extend(
            self.stage_variable_overrides
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_percentages() {
        for ok in [0.0, 12.5, 100.0] {
            assert!(CanarySpec::check_percent(ok).is_ok(), "{ok}");
        }
        for bad in [-0.1, 100.5, f64::NAN, f64::INFINITY] {
            let e = CanarySpec::check_percent(bad).expect_err("refused");
            assert!(e.contains("0.0 to 100.0"), "{e}");
        }
    }

    #[test]
    fn overrides_win_and_the_rest_is_kept() {
        let canary = CanarySpec {
            deployment_id: DeploymentId("0123456789abcdef".into()),
            percent_traffic: 10.0,
            stage_variable_overrides: [("color".to_owned(), "blue".to_owned())].into(),
            use_stage_cache: false,
        };
        let stage = [
            ("color".to_owned(), "green".to_owned()),
            ("backend".to_owned(), "b".to_owned()),
        ]
        .into();
        let seen = canary.variables(&stage);
        assert_eq!(seen["color"], "blue");
        assert_eq!(seen["backend"], "b");
    }
}
