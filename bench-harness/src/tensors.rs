//! safetensors files of the workbench: reading with validation (names, shapes, dtypes, finiteness), atomic writing
//! (a temporary file in the same folder, renamed at the end, so a failed command never leaves a partial file), and
//! the typed contents: parameters, batches, gradients and checkpoints.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use models::{AdamState, Params};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

/// What can be wrong with a tensor file. Every variant names the file; most name the tensor and the expectation.
#[derive(Debug, thiserror::Error)]
pub enum TensorFileError {
    /// The file cannot be read at all.
    #[error("{path}: cannot read the file: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a valid safetensors file (e.g. truncated).
    #[error("{path}: not a valid safetensors file (truncated or corrupt?): {reason}")]
    Format { path: PathBuf, reason: String },
    /// A required tensor is absent.
    #[error("{path}: tensor `{name}` is missing; expected tensors {expected}, found {found}")]
    Missing { path: PathBuf, name: String, expected: String, found: String },
    /// A tensor that this kind of file does not have.
    #[error("{path}: unexpected tensor `{name}`; expected only {expected}")]
    Unexpected { path: PathBuf, name: String, expected: String },
    /// Wrong element type.
    #[error("{path}: tensor `{name}` has dtype {found}, expected {expected}")]
    Dtype { path: PathBuf, name: String, expected: String, found: String },
    /// Wrong shape.
    #[error("{path}: tensor `{name}` has shape {found:?}, expected {expected}")]
    Shape { path: PathBuf, name: String, expected: String, found: Vec<usize> },
    /// NaN or infinity.
    #[error("{path}: tensor `{name}` holds a non-finite value {value} at flat index {index}; expected finite numbers")]
    NotFinite { path: PathBuf, name: String, index: usize, value: f64 },
    /// A label outside the class range.
    #[error(
        "{path}: tensor `y` holds label {label} at index {index}; expected 0 ≤ y < {n_out} (the params have {n_out} readouts)"
    )]
    Label { path: PathBuf, index: usize, label: i64, n_out: usize },
    /// Writing failed.
    #[error("{path}: cannot write: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// A tensor held in memory.
#[derive(Clone, Debug, PartialEq)]
pub enum Tensor {
    /// float32.
    F32 { shape: Vec<usize>, data: Vec<f32> },
    /// int64.
    I64 { shape: Vec<usize>, data: Vec<i64> },
    /// uint8.
    U8 { shape: Vec<usize>, data: Vec<u8> },
    /// float64 (test fixtures).
    F64 { shape: Vec<usize>, data: Vec<f64> },
}

impl Tensor {
    /// An f32 tensor (shape product must equal the length).
    pub fn f32(shape: &[usize], data: Vec<f32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor::F32 { shape: shape.to_vec(), data }
    }
    /// An i64 tensor.
    pub fn i64(shape: &[usize], data: Vec<i64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor::I64 { shape: shape.to_vec(), data }
    }
    /// A u8 tensor.
    pub fn u8(shape: &[usize], data: Vec<u8>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor::U8 { shape: shape.to_vec(), data }
    }

    /// The shape.
    pub fn dims(&self) -> &[usize] {
        self.shape()
    }

    /// The values widened to f64 (u8 and i64 converted).
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            Tensor::F32 { data, .. } => data.iter().map(|&v| v as f64).collect(),
            Tensor::I64 { data, .. } => data.iter().map(|&v| v as f64).collect(),
            Tensor::U8 { data, .. } => data.iter().map(|&v| v as f64).collect(),
            Tensor::F64 { data, .. } => data.clone(),
        }
    }

    fn dtype(&self) -> Dtype {
        match self {
            Tensor::F32 { .. } => Dtype::F32,
            Tensor::I64 { .. } => Dtype::I64,
            Tensor::U8 { .. } => Dtype::U8,
            Tensor::F64 { .. } => Dtype::F64,
        }
    }

    fn shape(&self) -> &[usize] {
        match self {
            Tensor::F32 { shape, .. }
            | Tensor::I64 { shape, .. }
            | Tensor::U8 { shape, .. }
            | Tensor::F64 { shape, .. } => shape,
        }
    }

    /// The little-endian bytes: borrowed on little-endian hosts (no copy of large tensors), converted otherwise.
    fn le_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        use std::borrow::Cow;
        if cfg!(target_endian = "little") {
            return match self {
                Tensor::F32 { data, .. } => Cow::Borrowed(bytemuck::cast_slice(data)),
                Tensor::I64 { data, .. } => Cow::Borrowed(bytemuck::cast_slice(data)),
                Tensor::U8 { data, .. } => Cow::Borrowed(data),
                Tensor::F64 { data, .. } => Cow::Borrowed(bytemuck::cast_slice(data)),
            };
        }
        Cow::Owned(match self {
            Tensor::F32 { data, .. } => data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Tensor::I64 { data, .. } => data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Tensor::U8 { data, .. } => data.clone(),
            Tensor::F64 { data, .. } => data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        })
    }
}

/// A safetensors file read fully into memory, with its path for error messages.
#[derive(Debug)]
pub struct TensorFile {
    path: PathBuf,
    bytes: Vec<u8>,
}

fn describe_names(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

impl TensorFile {
    /// Reads and parses the header; fails on unreadable or invalid (e.g. truncated) files.
    pub fn open(path: &Path) -> Result<Self, TensorFileError> {
        let bytes = std::fs::read(path).map_err(|source| TensorFileError::Read { path: path.into(), source })?;
        let file = Self { path: path.into(), bytes };
        file.parsed()?;
        Ok(file)
    }

    fn parsed(&self) -> Result<SafeTensors<'_>, TensorFileError> {
        SafeTensors::deserialize(&self.bytes)
            .map_err(|e| TensorFileError::Format { path: self.path.clone(), reason: e.to_string() })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tensor names in the file, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut n: Vec<String> =
            self.parsed().map(|s| s.names().into_iter().map(String::from).collect()).unwrap_or_default();
        n.sort();
        n
    }

    /// Whether the file holds a tensor called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.names().iter().any(|n| n == name)
    }

    /// Fails on any tensor whose name is not in `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), TensorFileError> {
        for n in self.names() {
            if !allowed.contains(&n.as_str()) {
                return Err(TensorFileError::Unexpected {
                    path: self.path.clone(),
                    name: n,
                    expected: describe_names(allowed),
                });
            }
        }
        Ok(())
    }

    fn view(&self, name: &str, expected_names: &[&str]) -> Result<TensorView<'_>, TensorFileError> {
        let st = self.parsed()?;
        st.tensor(name).map_err(|_| TensorFileError::Missing {
            path: self.path.clone(),
            name: name.into(),
            expected: describe_names(expected_names),
            found: describe_names(&self.names().iter().map(String::as_str).collect::<Vec<_>>()),
        })
    }

    fn check(
        &self,
        name: &str,
        view: &TensorView,
        dtype: Dtype,
        rank: usize,
        what: &str,
    ) -> Result<(), TensorFileError> {
        if view.dtype() != dtype {
            return Err(TensorFileError::Dtype {
                path: self.path.clone(),
                name: name.into(),
                expected: format!("{dtype:?}"),
                found: format!("{:?}", view.dtype()),
            });
        }
        if view.shape().len() != rank {
            return Err(TensorFileError::Shape {
                path: self.path.clone(),
                name: name.into(),
                expected: what.into(),
                found: view.shape().to_vec(),
            });
        }
        Ok(())
    }

    /// Reads an f32 tensor of rank `rank` (`what` describes the expected shape for messages) and checks that every
    /// value is finite. Returns its shape and values.
    pub fn f32(
        &self,
        name: &str,
        rank: usize,
        what: &str,
        names: &[&str],
    ) -> Result<(Vec<usize>, Vec<f32>), TensorFileError> {
        let v = self.view(name, names)?;
        self.check(name, &v, Dtype::F32, rank, what)?;
        let data: Vec<f32> = v.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if let Some((index, x)) = data.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(TensorFileError::NotFinite {
                path: self.path.clone(),
                name: name.into(),
                index,
                value: *x as f64,
            });
        }
        Ok((v.shape().to_vec(), data))
    }

    /// Reads an i64 tensor of rank `rank`.
    pub fn i64(
        &self,
        name: &str,
        rank: usize,
        what: &str,
        names: &[&str],
    ) -> Result<(Vec<usize>, Vec<i64>), TensorFileError> {
        let v = self.view(name, names)?;
        self.check(name, &v, Dtype::I64, rank, what)?;
        let data = v.data().chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect();
        Ok((v.shape().to_vec(), data))
    }

    /// Reads a u8 tensor of rank `rank`.
    pub fn u8(
        &self,
        name: &str,
        rank: usize,
        what: &str,
        names: &[&str],
    ) -> Result<(Vec<usize>, Vec<u8>), TensorFileError> {
        let v = self.view(name, names)?;
        self.check(name, &v, Dtype::U8, rank, what)?;
        Ok((v.shape().to_vec(), v.data().to_vec()))
    }

    fn shape_error(&self, name: &str, expected: String, found: Vec<usize>) -> TensorFileError {
        TensorFileError::Shape { path: self.path.clone(), name: name.into(), expected, found }
    }
}

/// Writes `tensors` to `path` atomically: a temporary file in the same folder, fsynced, then renamed.
pub fn write_tensors(
    path: &Path,
    tensors: &[(&str, Tensor)],
    metadata: &[(&str, &str)],
) -> Result<(), TensorFileError> {
    let werr = |reason: String| TensorFileError::Write { path: path.into(), reason };
    let bytes: Vec<(String, std::borrow::Cow<[u8]>, &Tensor)> =
        tensors.iter().map(|(n, t)| (n.to_string(), t.le_bytes(), t)).collect();
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(n, b, t)| TensorView::new(t.dtype(), t.shape().to_vec(), b).map(|v| (n.clone(), v)))
        .collect::<Result<_, _>>()
        .map_err(|e| werr(e.to_string()))?;
    let meta: HashMap<String, String> = metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(&dir)
        .map_err(|e| werr(format!("cannot create a temporary file in {}: {e}", dir.display())))?;
    // Streamed to the temporary path: no second in-memory copy of large tensors. safetensors writes a file of its own
    // and renames it onto that path, so the file is opened again by name (`tmp`'s handle is the replaced one).
    safetensors::serialize_to_file(views, Some(meta), tmp.path()).map_err(|e| werr(e.to_string()))?;
    let mut written = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(tmp.path())
        .map_err(|e| werr(format!("cannot open the written file again: {e}")))?;
    sort_header(&mut written).map_err(|e| werr(format!("cannot rewrite the header in sorted order: {e}")))?;
    written.sync_all().map_err(|e| werr(e.to_string()))?;
    drop(written);
    tmp.persist(path).map_err(|e| werr(e.error.to_string()))?;
    Ok(())
}

/// Rewrites a safetensors file's JSON header in place with every object's keys in sorted order, so that the same
/// tensors and metadata give the same bytes. safetensors writes its `__metadata__` map in the iteration order of a
/// `HashMap`, which differs from run to run: two runs with the same seed wrote checkpoints whose tensors were equal
/// but whose files were not. The sorted header holds the same entries (the data offsets are explicit, so the
/// tensors' bytes stay where they are) and is exactly as long, as it is the same JSON in another order.
fn sort_header(file: &mut std::fs::File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    file.seek(SeekFrom::Start(0))?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len)?;
    let n = usize::try_from(u64::from_le_bytes(len)).map_err(|e| bad(e.to_string()))?;
    let mut header = vec![0u8; n];
    file.read_exact(&mut header)?;
    let mut json: serde_json::Value = serde_json::from_slice(&header).map_err(|e| bad(e.to_string()))?;
    json.sort_all_objects();
    let mut sorted = serde_json::to_vec(&json).map_err(|e| bad(e.to_string()))?;
    if sorted.len() > n {
        return Err(bad(format!("the sorted header is {} bytes, the written one {n}", sorted.len())));
    }
    // safetensors pads its header with spaces to a multiple of 8 bytes; keep that padding.
    sorted.resize(n, b' ');
    file.seek(SeekFrom::Start(8))?;
    file.write_all(&sorted)?;
    file.flush()
}

const FORMAT_KEY: &str = "format";
const FORMAT: &str = "eprop-workbench";

/// Tensor names of a parameter file.
pub const PARAM_NAMES: [&str; 3] = ["w_in", "w_rec", "w_out"];
/// Extra tensor names a checkpoint may hold besides the weights.
pub const CHECKPOINT_EXTRAS: [&str; 8] = [
    "adam_m_w_in",
    "adam_m_w_rec",
    "adam_m_w_out",
    "adam_v_w_in",
    "adam_v_w_rec",
    "adam_v_w_out",
    "adam_step",
    "losses",
];

fn read_params_named(f: &TensorFile, names: [&str; 3], all: &[&str]) -> Result<Params<f32>, TensorFileError> {
    let (s_in, w_in) = f.f32(names[0], 2, "[n_in, n_rec]", all)?;
    let (n_in, n_rec) = (s_in[0], s_in[1]);
    let (s_rec, w_rec) = f.f32(names[1], 2, &format!("[{n_rec}, {n_rec}] (n_rec from {})", names[0]), all)?;
    if s_rec != [n_rec, n_rec] {
        return Err(f.shape_error(
            names[1],
            format!("[{n_rec}, {n_rec}] (n_rec = {n_rec} from `{}`)", names[0]),
            s_rec,
        ));
    }
    let (s_out, w_out) = f.f32(names[2], 2, &format!("[{n_rec}, n_out]"), all)?;
    if s_out[0] != n_rec || s_out[1] == 0 {
        return Err(f.shape_error(
            names[2],
            format!("[{n_rec}, n_out] with n_out ≥ 1 (n_rec = {n_rec} from `{}`)", names[0]),
            s_out,
        ));
    }
    if n_in == 0 || n_rec == 0 {
        return Err(f.shape_error(names[0], "[n_in, n_rec] with both ≥ 1".into(), s_in));
    }
    Ok(Params { n_in, n_rec, n_out: s_out[1], w_in, w_rec, w_out })
}

/// Reads `w_in [n_in, n_rec]`, `w_rec [n_rec, n_rec]`, `w_out [n_rec, n_out]` (f32, finite). Checkpoint tensors
/// (Adam state, losses) may be present and are ignored; any other tensor is an error (it is probably a typo).
pub fn read_params(path: &Path) -> Result<Params<f32>, TensorFileError> {
    let f = TensorFile::open(path)?;
    let allowed: Vec<&str> = PARAM_NAMES.iter().chain(CHECKPOINT_EXTRAS.iter()).copied().collect();
    f.only(&allowed)?;
    read_params_named(&f, PARAM_NAMES, &PARAM_NAMES)
}

/// Reads the Adam state of a checkpoint, if it has one (all of `adam_*` or none).
pub fn read_adam(path: &Path, like: &Params<f32>) -> Result<Option<AdamState<f32>>, TensorFileError> {
    let f = TensorFile::open(path)?;
    if !f.has("adam_step") {
        return Ok(None);
    }
    let all = CHECKPOINT_EXTRAS;
    let m = read_params_named(&f, ["adam_m_w_in", "adam_m_w_rec", "adam_m_w_out"], &all)?;
    let v = read_params_named(&f, ["adam_v_w_in", "adam_v_w_rec", "adam_v_w_out"], &all)?;
    for (name, p) in [("adam_m_*", &m), ("adam_v_*", &v)] {
        if (p.n_in, p.n_rec, p.n_out) != (like.n_in, like.n_rec, like.n_out) {
            return Err(f.shape_error(
                name,
                format!("the weights' shapes ({}→{}→{})", like.n_in, like.n_rec, like.n_out),
                vec![p.n_in, p.n_rec, p.n_out],
            ));
        }
    }
    let (_, step) = f.i64("adam_step", 0, "[] (a scalar)", &all)?;
    let step = step
        .first()
        .copied()
        .filter(|s| *s >= 0)
        .ok_or_else(|| f.shape_error("adam_step", "a scalar ≥ 0".into(), vec![]))?;
    Ok(Some(AdamState { m, v, step: step as u64 }))
}

/// Writes a parameter file (`kind` goes into the metadata).
pub fn write_params(path: &Path, p: &Params<f32>, extra: Vec<(&str, Tensor)>) -> Result<(), TensorFileError> {
    let mut t = params_tensors(p, PARAM_NAMES);
    t.extend(extra);
    write_tensors(path, &t, &[(FORMAT_KEY, FORMAT), ("kind", "params")])
}

/// The three matrices as tensors under the given names.
pub fn params_tensors<'a>(p: &Params<f32>, names: [&'a str; 3]) -> Vec<(&'a str, Tensor)> {
    vec![
        (names[0], Tensor::f32(&[p.n_in, p.n_rec], p.w_in.clone())),
        (names[1], Tensor::f32(&[p.n_rec, p.n_rec], p.w_rec.clone())),
        (names[2], Tensor::f32(&[p.n_rec, p.n_out], p.w_out.clone())),
    ]
}

/// A batch read from disk: `x [B, T, n_in]` f32 and `y [B]` i64.
#[derive(Clone, Debug)]
pub struct BatchData {
    /// Inputs, flat.
    pub x: Vec<f32>,
    /// Labels.
    pub y: Vec<i64>,
    /// B.
    pub batch: usize,
    /// T.
    pub t_steps: usize,
    /// Feature width.
    pub n_in: usize,
}

impl BatchData {
    /// Borrows as a [`models::Batch`].
    pub fn as_batch(&self) -> models::Batch<'_> {
        models::Batch { x: &self.x, y: &self.y, batch: self.batch, t_steps: self.t_steps, n_in: self.n_in }
    }
}

/// Reads a batch and checks it against a network with `n_in` inputs and `n_out` classes.
pub fn read_batch(path: &Path, n_in: usize, n_out: usize) -> Result<BatchData, TensorFileError> {
    let f = TensorFile::open(path)?;
    let names = ["x", "y"];
    f.only(&["x", "y", "paths"])?;
    let (sx, x) = f.f32("x", 3, "[B, T, n_in]", &names)?;
    let (b, t, width) = (sx[0], sx[1], sx[2]);
    if width != n_in {
        return Err(f.shape_error(
            "x",
            format!("[B, T, {n_in}]: its feature width {width} does not match the params' n_in = {n_in}"),
            sx,
        ));
    }
    if b == 0 || t == 0 {
        return Err(f.shape_error("x", format!("[B, T, {n_in}] with B ≥ 1 and T ≥ 1"), sx));
    }
    let (sy, y) = f.i64("y", 1, &format!("[{b}] (B from `x`)"), &names)?;
    if sy[0] != b {
        return Err(f.shape_error("y", format!("[{b}] (B = {b} from `x`)"), sy));
    }
    if let Some((index, &label)) = y.iter().enumerate().find(|(_, l)| **l < 0 || **l >= n_out as i64) {
        return Err(TensorFileError::Label { path: path.into(), index, label, n_out });
    }
    Ok(BatchData { x, y, batch: b, t_steps: t, n_in })
}

/// Writes a batch file.
pub fn write_batch(path: &Path, data: &BatchData) -> Result<(), TensorFileError> {
    write_tensors(
        path,
        &[
            ("x", Tensor::f32(&[data.batch, data.t_steps, data.n_in], data.x.clone())),
            ("y", Tensor::i64(&[data.batch], data.y.clone())),
        ],
        &[(FORMAT_KEY, FORMAT), ("kind", "batch")],
    )
}

/// Reads every tensor of a file into memory (for tests and tools), keyed by name.
pub fn read_all(path: &Path) -> Result<BTreeMap<String, Tensor>, TensorFileError> {
    let f = TensorFile::open(path)?;
    let st = f.parsed()?;
    let mut out = BTreeMap::new();
    for (name, v) in st.tensors() {
        let shape = v.shape().to_vec();
        let t = match v.dtype() {
            Dtype::F32 => Tensor::F32 {
                shape,
                data: v.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            },
            Dtype::I64 => Tensor::I64 {
                shape,
                data: v.data().chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect(),
            },
            Dtype::U8 => Tensor::U8 { shape, data: v.data().to_vec() },
            Dtype::F64 => Tensor::F64 {
                shape,
                data: v.data().chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect(),
            },
            other => {
                return Err(TensorFileError::Dtype {
                    path: path.into(),
                    name,
                    expected: "F32, F64, I64 or U8".into(),
                    found: format!("{other:?}"),
                });
            }
        };
        out.insert(name, t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same tensors and metadata, same bytes: the header is written sorted, whatever order the metadata map gives.
    /// (Before, several writes of one file with eight metadata entries gave different bytes.)
    #[test]
    fn the_same_tensors_and_metadata_give_the_same_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let meta: Vec<(String, String)> = (0..8).map(|i| (format!("key{i}"), format!("value {i}"))).collect();
        let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let tensors = [
            ("w_rec", Tensor::f32(&[2, 3], vec![0.5, -1.0, 2.0, 0.25, 3.0, -0.125])),
            ("labels", Tensor::i64(&[3], vec![4, 0, 11])),
            ("a", Tensor::f32(&[1], vec![7.0])),
        ];
        let files: Vec<Vec<u8>> = (0..6)
            .map(|i| {
                let p = dir.path().join(format!("t{i}.safetensors"));
                write_tensors(&p, &tensors, &meta).expect("write");
                std::fs::read(&p).expect("read back")
            })
            .collect();
        for f in &files[1..] {
            assert!(f == &files[0], "two writes of the same tensors and metadata gave different bytes");
        }
        // The header is sorted JSON padded with spaces, and the file still reads back whole.
        let n = u64::from_le_bytes(files[0][..8].try_into().expect("8 bytes")) as usize;
        let header = std::str::from_utf8(&files[0][8..8 + n]).expect("utf-8 header");
        let keys: Vec<usize> = ["\"__metadata__\"", "\"a\"", "\"labels\"", "\"w_rec\""]
            .iter()
            .map(|k| header.find(k).unwrap_or_else(|| panic!("{k} missing from {header}")))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "header keys not sorted: {header}");
        let meta_keys: Vec<usize> = (0..8).map(|i| header.find(&format!("\"key{i}\"")).expect("key")).collect();
        assert!(meta_keys.windows(2).all(|w| w[0] < w[1]), "metadata keys not sorted: {header}");
        let st = SafeTensors::deserialize(&files[0]).expect("valid safetensors");
        assert_eq!(st.tensor("w_rec").expect("w_rec").data(), tensors[0].1.le_bytes().as_ref());
        assert_eq!(st.tensor("labels").expect("labels").data(), tensors[1].1.le_bytes().as_ref());
        let (_, m) = SafeTensors::read_metadata(&files[0]).expect("metadata");
        let m = m.metadata().clone().expect("metadata map");
        assert_eq!(m.len(), 8);
        assert_eq!(m.get("key5").map(String::as_str), Some("value 5"));
    }
}
