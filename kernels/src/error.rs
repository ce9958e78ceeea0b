//! The error type of the `kernels` crate. Every variant a caller can cause names the op or
//! backend involved and what was expected.

/// Errors raised by backends and the measurements in [`crate::cpu`].
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// `backend_by_name` got a name it does not know.
    #[error("unknown backend '{name}' (known: {known})")]
    UnknownBackend {
        /// The name asked for.
        name: String,
        /// The names that are accepted, comma-separated.
        known: String,
    },
    /// A buffer whose length or a shape argument that does not fit the op.
    #[error("{op}: {what}")]
    Shape {
        /// The op, e.g. `matmul`.
        op: &'static str,
        /// What was wrong and what was expected.
        what: String,
    },
    /// A weight encoding the op has no kernel for.
    #[error("{op}: unsupported {what}")]
    Unsupported {
        /// The op, e.g. `matmul_gguf`.
        op: &'static str,
        /// The encoding and the supported ones.
        what: String,
    },
    /// A CPU backend or measurement was asked for an instruction set this CPU lacks.
    #[error("this CPU lacks the instruction set '{isa}'")]
    IsaUnavailable {
        /// The instruction set's name.
        isa: &'static str,
    },
    /// A GPU backend found no usable adapter or device, or the device failed an operation
    /// (out of memory, a shader that did not compile, a lost device).
    #[error("{backend}: {what}")]
    Device {
        /// The backend, e.g. `wgsl`.
        backend: &'static str,
        /// What failed, with the underlying message.
        what: String,
    },
    /// A rayon thread pool could not be built.
    #[error("thread pool with {threads} threads: {source}")]
    ThreadPool {
        /// The number of threads asked for.
        threads: usize,
        /// The underlying error.
        source: rayon::ThreadPoolBuildError,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, KernelError>;
