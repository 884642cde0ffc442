//! The chip run's spike activity (`chip_activity.json`): written by the chip experiment after every epoch, read by
//! the cost stage, which prices it.

use std::path::Path;

use anyhow::{Context, Result};
use models::spinnaker2::Activity;
use serde::{Deserialize, Serialize};

/// The chip run's activity record.
pub const ACTIVITY_FILE: &str = "chip_activity.json";

/// What `chip_activity.json` holds: the activity summed over the training samples of the first `epochs` epochs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityRecord {
    /// Epochs recorded.
    pub epochs: usize,
    /// The spikes.
    pub activity: Activity,
}

/// Reads the run's activity record, if any.
pub fn read_activity(out: &Path) -> Result<Option<ActivityRecord>> {
    let path = out.join(ACTIVITY_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(Some(serde_json::from_str(&text).with_context(|| format!("{}: not an activity record", path.display()))?))
}

/// Writes it atomically.
pub fn write_activity(out: &Path, rec: &ActivityRecord) -> Result<()> {
    let path = out.join(ACTIVITY_FILE);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string(rec)?)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}
