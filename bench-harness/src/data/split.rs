//! Google Speech Commands' own train/validation/test rule (docs/data.md): a hash of the speaker part of the file name,
//! so that one speaker's clips stay in one split. Used when the list files are missing and for generated data.

use sha1::{Digest, Sha1};

/// A dataset split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// Training.
    Train,
    /// Validation.
    Validation,
    /// Testing.
    Test,
}

impl Split {
    /// `train`, `validation`, `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

/// The speaker key of a file name: the basename without its `_nohash_…` tail.
pub fn speaker_key(file_name: &str) -> &str {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base.find("_nohash_") {
        Some(i) => &base[..i],
        None => base,
    }
}

/// (int(sha1(key).hexdigest(), 16) mod 2^27) · (100 / (2^27 − 1)) — the dataset's percentage.
pub fn hash_percentage(key: &str) -> f64 {
    let digest = Sha1::digest(key.as_bytes());
    let b = &digest[digest.len() - 4..];
    let low = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & ((1 << 27) - 1);
    low as f64 * (100.0 / ((1u64 << 27) - 1) as f64)
}

/// p < 10 → validation, p < 20 → test, else train (10 % / 10 %).
pub fn which_set(file_name: &str) -> Split {
    let p = hash_percentage(speaker_key(file_name));
    if p < 10.0 {
        Split::Validation
    } else if p < 20.0 {
        Split::Test
    } else {
        Split::Train
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_md_test_vectors() {
        for (key, p, split) in [
            ("3f2a2d84", 5.626354, Split::Validation),
            ("0a7c2a8d", 56.836387, Split::Train),
            ("bobby", 94.174787, Split::Train),
            ("ffd2ba2f", 55.301711, Split::Train),
        ] {
            let got = hash_percentage(key);
            assert!((got - p).abs() < 5e-7, "{key}: {got} vs {p}");
            assert_eq!(which_set(&format!("yes/{key}_nohash_0.wav")), split);
        }
        assert_eq!(speaker_key("down/3f2a2d84_nohash_3.wav"), "3f2a2d84");
    }
}
