//! The GPU context: picks an adapter (a discrete GPU when present, else any other, else a software one such as
//! Mesa's lavapipe), opens a device with the adapter's own limits and reports what it found.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use models::NetConfig;

use crate::KernelError;
use crate::shaders::{Kernel, Variant};

/// The environment variable that selects an adapter by (part of) its name, like `--adapter`.
pub const ADAPTER_ENV: &str = "SNNBENCH_ADAPTER";

/// Why a GPU context could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// No adapter at all: no GPU driver and no software Vulkan.
    #[error(
        "no GPU adapter found (wgpu saw none on Vulkan/Metal/DX12/GL). On Debian/Ubuntu install Mesa's software \
         Vulkan driver: `apt-get install mesa-vulkan-drivers libvulkan1`"
    )]
    NoAdapter,
    /// The requested name matches none of the adapters.
    #[error("no adapter name contains {wanted:?}; available: {available}")]
    NoMatch { wanted: String, available: String },
    /// The adapter refused to open a device.
    #[error("adapter {adapter:?} could not open a device: {source}")]
    RequestDevice {
        adapter: String,
        #[source]
        source: wgpu::RequestDeviceError,
    },
}

/// An opened device with its queue and a description of the adapter behind it (cloning shares the device and its
/// compiled pipelines).
#[derive(Clone)]
pub struct GpuContext {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// What the adapter says about itself.
    pub info: wgpu::AdapterInfo,
    /// The limits the device was opened with (the adapter's own, not wgpu's defaults).
    pub limits: wgpu::Limits,
    /// Whether GPU timestamp queries are available (then benchmarks report GPU time).
    pub has_timestamps: bool,
    /// Whether WGSL subgroup operations are available (the CPU-adapter kernels need them).
    pub has_subgroups: bool,
    /// The pipelines built on this device, by entry point and full source: a trainer's kernels depend on the network
    /// and the rule's options but not on T, the batch or the chunk being run, so every later trainer of the same
    /// network (a memory sweep, a second chunk, a test's next case) reuses them instead of building them again.
    pipelines: Arc<Mutex<PipelineCache>>,
}

/// A kernel source's FNV-1a hash and its length in bytes: the hash names the compiled kernel in the records of
/// kernels compiled ahead (`trainer::jit`), the length orders that work (longest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SourceId {
    pub hash: u64,
    pub len: usize,
}

#[derive(Default)]
struct PipelineCache {
    built: HashMap<(&'static str, String), (wgpu::ComputePipeline, SourceId)>,
    /// The entry point of every build, in order (a race between two threads may build one source twice).
    builds: Vec<&'static str>,
}

impl fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GpuContext({})", self.describe())
    }
}

/// Ranks device types: discrete first, software last.
fn preference(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

impl GpuContext {
    /// Runs the uploads still pending on the queue (`write_buffer`, buffers created with contents) and waits for
    /// them: wgpu performs those copies at the next submission, which would otherwise be the first timed step.
    pub fn flush_uploads(&self) -> Result<(), crate::KernelError> {
        self.queue.submit([]);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| crate::KernelError::Device(e.to_string()))
    }

    /// Opens a device. `wanted` (or, when `None`, the `SNNBENCH_ADAPTER` environment variable) selects the first
    /// adapter whose name contains it, case-insensitively; otherwise the most capable adapter is taken.
    pub fn new(wanted: Option<&str>) -> Result<Self, ContextError> {
        pollster::block_on(Self::new_async(wanted))
    }

    async fn new_async(wanted: Option<&str>) -> Result<Self, ContextError> {
        // Vulkan, Metal and DX12 first; OpenGL only when none of them has an adapter (or when `WGPU_BACKEND` names
        // it). Probing GL needlessly costs time and makes EGL try a Wayland connection, whose library prints
        // "error: XDG_RUNTIME_DIR is invalid or not set" on machines without a desktop session.
        let passes = if std::env::var_os("WGPU_BACKEND").is_some() {
            vec![None]
        } else {
            vec![Some(wgpu::Backends::PRIMARY), Some(wgpu::Backends::all())]
        };
        let mut adapters = vec![];
        for backends in passes {
            let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
            if let Some(b) = backends {
                desc.backends = b;
            }
            let instance = wgpu::Instance::new(desc);
            adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
            if !adapters.is_empty() {
                break;
            }
        }
        if adapters.is_empty() {
            return Err(ContextError::NoAdapter);
        }
        let env = std::env::var(ADAPTER_ENV).ok().filter(|s| !s.is_empty());
        let wanted = wanted.map(str::to_owned).or(env);
        let adapter = match wanted {
            Some(w) => {
                let lw = w.to_lowercase();
                let pos = adapters.iter().position(|a| a.get_info().name.to_lowercase().contains(&lw));
                match pos {
                    Some(i) => adapters.swap_remove(i),
                    None => {
                        let available =
                            adapters.iter().map(|a| format!("{:?}", a.get_info().name)).collect::<Vec<_>>().join(", ");
                        return Err(ContextError::NoMatch { wanted: w, available });
                    }
                }
            }
            None => {
                adapters.sort_by_key(|a| {
                    let info = a.get_info();
                    // Vulkan before GL on the same device.
                    (preference(info.device_type), u8::from(info.backend == wgpu::Backend::Gl))
                });
                adapters.swap_remove(0)
            }
        };
        let info = adapter.get_info();
        let limits = adapter.limits();
        let has_timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let mut required_features = wgpu::Features::empty();
        if has_timestamps {
            required_features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        let has_subgroups = adapter.features().contains(wgpu::Features::SUBGROUP);
        if has_subgroups {
            required_features |= wgpu::Features::SUBGROUP;
        }
        let desc = wgpu::DeviceDescriptor {
            label: Some("eprop-workbench"),
            required_features,
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = adapter
            .request_device(&desc)
            .await
            .map_err(|source| ContextError::RequestDevice { adapter: info.name.clone(), source })?;
        tracing::info!(adapter = %info.name, backend = ?info.backend, driver = %info.driver, "opened GPU context");
        Ok(Self { device, queue, info, limits, has_timestamps, has_subgroups, pipelines: Arc::default() })
    }

    /// `kernel`'s pipeline for this network and variant, built on first use and then shared by every trainer on this
    /// device. Building one is the slow part of a trainer on a CPU adapter (the WGSL of the unrolled kernels is
    /// ≈ 0.2–0.8 MB; lavapipe translates it again on every build, seconds each, even when its disk cache has the
    /// machine code). The key is the whole generated source, so two variants that differ in any constant never
    /// share a pipeline. Errors are returned, not cached.
    pub fn pipeline(&self, kernel: Kernel, cfg: &NetConfig, v: Variant) -> Result<wgpu::ComputePipeline, KernelError> {
        self.pipeline_with_id(kernel, cfg, v).map(|(p, _)| p)
    }

    /// [`GpuContext::pipeline`] with its source's [`SourceId`].
    pub(crate) fn pipeline_with_id(
        &self,
        kernel: Kernel,
        cfg: &NetConfig,
        v: Variant,
    ) -> Result<(wgpu::ComputePipeline, SourceId), KernelError> {
        let key = (kernel.stem(), crate::shaders::source(kernel, cfg, v));
        if let Some(p) = self.lock_pipelines().built.get(&key) {
            return Ok(p.clone());
        }
        // Built outside the lock: another thread may build the same pipeline meanwhile; the first stored is kept.
        if kernel.is_unrolled() {
            tracing::info!(
                kernel = key.0,
                "building the unrolled kernel for this network (20 s to 3 min on lavapipe the first time; the driver \
                 caches it)"
            );
        }
        let id = SourceId { hash: crate::shaders::fnv1a(key.1.as_bytes()), len: key.1.len() };
        let p = crate::shaders::pipeline_from_source(&self.device, key.0, key.1.clone())?;
        let mut cache = self.lock_pipelines();
        cache.builds.push(key.0);
        Ok(cache.built.entry(key).or_insert((p, id)).clone())
    }

    /// The entry point of every pipeline this device has built through [`GpuContext::pipeline`] (a kernel built
    /// for two variants appears twice; one served from the cache does not appear again), sorted.
    pub fn pipelines_built(&self) -> Vec<&'static str> {
        let mut stems = self.lock_pipelines().builds.clone();
        stems.sort_unstable();
        stems
    }

    fn lock_pipelines(&self) -> std::sync::MutexGuard<'_, PipelineCache> {
        // A panic elsewhere while the lock was held leaves a valid map (insertions are single calls).
        self.pipelines.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One line: name, backend, device type, driver and driver info.
    pub fn describe(&self) -> String {
        let i = &self.info;
        format!("{} ({:?}, {:?}, driver {} {})", i.name, i.backend, i.device_type, i.driver, i.driver_info)
    }
}
